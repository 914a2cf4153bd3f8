"""Each invoice line shows how its amount is made (unit price, tiers, credits, cap), in the JSON and in the
PDF's text, with amounts worked by hand."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from pypdf import PdfReader

from functions.billing.closing import InvoiceContext
from functions.billing.invoice import fixed_lines, usage_lines
from functions.billing.render import invoice_json, invoice_pdf, unit_money
from functions.meters.periods import Period
from functions.store.entities import Customer
from tests.unit.entities import price, product, subscription, tax_rate

TIERED = price(id="tiers", amount_type="metered_tiers", meter_id="tokens", meter_name="tokens", tiers={
    "type": "graduated", "tiers": [{"bound": 1000, "unit_amount": "0.5"}, {"bound": None, "unit_amount": "0.25"}]})
UNIT = price(id="calls", amount_type="metered_unit", meter_id="calls", meter_name="calls", unit_amount="0.015",
             credited_units=100, cap_amount=1000)
PACKAGE = price(id="gb", amount_type="metered_package", meter_id="gb", meter_name="gb", package_size=10,
                package_amount=300)
MONTH = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def lines():
    consumed = {"tokens": Decimal(1500), "calls": Decimal(400), "gb": Decimal(25)}
    credited = {"calls": Decimal(100)}
    return usage_lines([TIERED, UNIT, PACKAGE], consumed, credited, ("2026-11-01", "2026-12-01"))


def test_metered_lines_carry_their_unit_price_tiers_credits_and_cap() -> None:
    tiers, calls, gb = lines()
    # Graduated: 1,000 x 0.5c + 500 x 0.25c = 625c.
    assert tiers.tiers == [
        {"first_unit": 1, "last_unit": 1000, "units": "1000", "unit_amount": "0.5", "amount": "500.0"},
        {"first_unit": 1001, "last_unit": None, "units": "500", "unit_amount": "0.25", "amount": "125.00"}]
    assert tiers.amount == 625 and tiers.unit_amount is None
    # 400 calls, 100 credited: 300 x 0.015c = 4.5c -> 5c (half up), under the 1,000c cap.
    assert (calls.unit_amount, calls.quantity, calls.credited_units, calls.cap_amount, calls.amount) == (
        "0.015", "300", "100", 1000, 5)
    # 25 GB in packages of 10: 3 started packages x 300c = 900c.
    assert (gb.unit_amount, gb.package_size, gb.amount) == ("300", 10, 900)
    [fee] = fixed_lines([price(id="fee", amount_type="fixed", price_amount=4900)], ("a", "b"), "Pro")
    assert (fee.unit_amount, fee.quantity, fee.amount) == ("4900", "1", 4900)


def test_the_pdf_and_the_json_show_the_same_lines_rates_dates_and_parties() -> None:
    customer = Customer(id="c1", organization_id="org", created_at="t", name="Lin", email="lin@example.com",
                        billing_address={"line1": "1 Rue", "city": "Lyon", "country": "FR"},
                        tax_id=["FR123", "eu_vat"])
    vat = tax_rate(2000, id="vat", name="TVA", country="FR")
    context = InvoiceContext("org", subscription(), product([]), customer, None, [vat],
                             clock=lambda: datetime(2026, 12, 1, 2, tzinfo=UTC),
                             seller={"name": "Acme", "tax_id": "FR999", "payment_terms_days": 14})
    amounts = context.totals(lines(), MONTH.end)
    invoice = context.invoice("subscription_cycle", "m", amounts, MONTH, 42)
    # 625 + 5 + 900 = 1,530c; TVA 20% = 306c; 1,836c.
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (1530, 306, 1836)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(invoice_pdf(invoice))).pages)
    for shown in ("Invoice 42", "Issued 2026-12-01", "Due 2026-12-15", "From: Acme", "Tax ID FR999", "Lin",
                  "Lyon", "Tax ID FR123 (eu_vat)", "Unit price",
                  "Tier 1-1,000: 1000 x 0.005 USD = 5.00 USD", "Tier 1,001+: 500 x 0.0025 USD = 1.25 USD",
                  "400 used, 100 credited, 300 billable", "0.00015 USD", "At most 10.00 USD per period",
                  "3.00 USD per 10", "Tax TVA 20%", "18.36 USD"):
        assert shown in text, shown
    stored = json.loads(invoice_json(invoice))
    assert [line["unit_amount"] for line in stored["lines"]] == [None, "0.015", "300"]
    assert stored["lines"][0]["tiers"][1]["amount"] == "125.00" and stored["due_at"].startswith("2026-12-15")
    assert stored["taxes"] == [{"id": "vat", "name": "TVA", "basis_points": 2000, "inclusive": False,
                                "country": "FR", "state": None, "amount": 306}]


def test_an_exact_rate_is_written_with_every_digit_it_has() -> None:
    assert unit_money("0.25", "usd") == "0.0025 USD"
    assert unit_money("4900", "eur") == "49.00 EUR"
    assert unit_money("123456.5", "usd") == "1,234.565 USD"


def test_a_customers_own_payment_terms_set_the_due_date() -> None:
    seller = {"name": "Acme", "payment_terms_days": 14}
    for terms, due in ((None, "2026-12-15"), (0, "2026-12-01"), (45, "2027-01-15")):
        customer = Customer(id="c1", organization_id="org", created_at="t", payment_terms_days=terms)
        context = InvoiceContext("org", subscription(), product([]), customer, None, [],
                                 clock=lambda: datetime(2026, 12, 1, 2, tzinfo=UTC), seller=seller)
        invoice = context.invoice("subscription_cycle", "m", context.totals(lines(), MONTH.end), MONTH, 1)
        assert invoice.due_at is not None and invoice.due_at.startswith(due), (terms, invoice.due_at)
