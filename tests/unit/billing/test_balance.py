"""The customer credit balance: the pure rule, the invoice's totals with it, and the customer's balances after an
invoice (per currency, versioned). Amounts worked by hand."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from functions.billing.balance import applied_balance
from functions.billing.closing import InvoiceContext
from functions.billing.invoice import Line, total_invoice
from functions.billing.render import balance_label, invoice_pdf
from functions.meters.periods import Period
from functions.store.billing import BalanceChange
from functions.store.entities import Customer
from tests.unit.entities import product as make_product
from tests.unit.entities import subscription, tax_rate

VAT = tax_rate(1900, id="vat", name="VAT", country="DE")


def test_a_negative_total_goes_to_the_balance_in_full() -> None:
    assert applied_balance(-4165, 0) == 4165  # amount due 0, credit +4,165
    assert applied_balance(-500, 700) == 500  # whatever credit there already is


def test_a_positive_total_is_paid_from_the_credit_as_far_as_it_goes() -> None:
    assert applied_balance(1785, 4165) == -1785  # paid in full, 2,380 left
    assert applied_balance(1785, 595) == -595  # 1,190 left to pay, nothing left on the balance
    assert applied_balance(1785, 0) == 0
    assert applied_balance(0, 300) == 0  # nothing to pay: the credit stays


def test_a_credit_balance_is_never_negative() -> None:
    with pytest.raises(ValueError):
        applied_balance(100, -1)


def test_the_balance_applies_after_tax_and_never_makes_the_invoice_negative() -> None:
    # 1,500c fee + 19% VAT = 1,785c; 2,000c of credit pays it all: nothing due, 215c stays on the balance.
    paid = total_invoice([Line("fixed", "Small", 1500)], None, [VAT], "usd", credit=2000)
    assert (paid.subtotal, paid.tax_amount, paid.total, paid.applied_balance, paid.amount_due) == (
        1500, 285, 1785, -1785, 0)
    # 500c of credit: 1,785 - 500 = 1,285c due. The tax is the same as without the credit.
    part = total_invoice([Line("fixed", "Small", 1500)], None, [VAT], "usd", credit=500)
    assert (part.tax_amount, part.total, part.applied_balance, part.amount_due) == (285, 1785, -500, 1285)


def test_a_downgrade_credit_with_its_tax_becomes_balance() -> None:
    # -3,500c proration; its tax given back: round_half_up(-3,500 x 0.19) = -665c; total -4,165c.
    credit = total_invoice([Line("proration", "Big -> Small", -3500)], None, [VAT], "usd", credit=100)
    assert (credit.tax_amount, credit.total, credit.applied_balance, credit.amount_due) == (-665, -4165, 4165, 0)


def context_for(customer: Customer, currency: str = "usd") -> InvoiceContext:
    product = make_product([{"id": "x", "amount_type": "fixed", "price_amount": 1500, "price_currency": currency}],
                           id="p", name="Small")
    sub = subscription(id="s", customer_id=customer.id, product_id="p", invoice_count=3)
    return InvoiceContext("org", sub, product, customer, None, [])


def test_credit_in_one_currency_pays_nothing_in_another() -> None:
    customer = Customer(id="c", organization_id="org", created_at="t", balance={"usd": 2000}, balance_version=4)
    euro = context_for(customer, "EUR")  # stored as typed: the balance's currencies are lower case
    amounts = euro.totals([Line("fixed", "Small", 1500)], issued_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert (euro.credit, amounts.applied_balance, amounts.amount_due) == (0, 0, 1500)
    assert euro.balance_change(amounts) is None  # nothing moves, nothing is guarded


def test_the_balance_change_keeps_other_currencies_and_the_version_read() -> None:
    customer = Customer(id="c", organization_id="org", created_at="t", balance={"usd": 2000, "eur": 70},
                        balance_version=4)
    usd = context_for(customer)
    spent = total_invoice([Line("fixed", "Small", 1500)], None, [], "usd", usd.credit)
    read = {"usd": 2000, "eur": 70}
    assert usd.balance_change(spent) == BalanceChange({"usd": 500, "eur": 70}, 4, read)
    emptied = total_invoice([Line("fixed", "Small", 2500)], None, [], "usd", usd.credit)
    assert emptied.amount_due == 500
    assert usd.balance_change(emptied) == BalanceChange({"eur": 70}, 4, read)  # a spent currency is left out
    month = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    invoice = usd.invoice("subscription_cycle", "m", spent, month, 9)
    assert (invoice.status, invoice.applied_balance, invoice.amount_due) == ("paid", -1500, 0)


def test_customer_balances_are_polar_customer_balance_shapes() -> None:
    customer = Customer(id="c", organization_id="org", created_at="t", balance={"usd": 2380, "eur": 0, "chf": 5})
    assert customer.balances() == [{"balance": 5, "currency": "chf"}, {"balance": 2380, "currency": "usd"}]


def test_the_row_under_the_total_names_what_the_balance_did() -> None:
    assert balance_label(-1785) == "Applied balance"
    assert balance_label(4165) == "Credited to balance"


def test_the_pdf_shows_the_applied_balance_and_the_amount_due() -> None:
    customer = Customer(id="c", organization_id="org", created_at="t", balance={"usd": 595})
    context = context_for(customer)
    amounts = context.totals([Line("fixed", "Small", 1500)], issued_at=datetime(2026, 2, 1, tzinfo=UTC))
    month = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    invoice = context.invoice("subscription_cycle", "m", amounts, month, 12)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(invoice_pdf(invoice))).pages)
    # 1,500c, no tax rate here: 15.00 total, 5.95 from the balance, 9.05 due; open, since something is due.
    assert "Total\n15.00 USD\nApplied balance\n-5.95 USD\nAmount due\n9.05 USD" in text
    assert "Status: open" in text
