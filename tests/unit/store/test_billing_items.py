"""Billing items and their entities: nested entities read back as they were written, and invoices, products
and customers written by earlier versions still read."""

from __future__ import annotations

from functions.store.billing import invoice_from_item, product_from_item
from functions.store.billing_entities import Invoice, InvoiceLine, InvoiceTax, Price, Product
from functions.store.codec import entity_item, to_item
from functions.store.customers import customer_from_item, customer_item
from functions.store.entities import BillingState, Customer


def test_an_invoice_reads_back_with_its_lines_and_taxes() -> None:
    invoice = Invoice(
        id="i1", number=3, organization_id="org", customer_id="c1", subscription_id="s1", product_id="p1",
        status="open", billing_reason="subscription_cycle", currency="eur", period_start="2026-11-01T00:00:00Z",
        period_end="2026-12-01T00:00:00Z", created_at="2026-12-01T01:00:00Z",
        lines=[InvoiceLine("metered", "Usage of calls", 250, quantity="25", meter_id="m1", price_id="p",
                           consumed_units="125", credited_units="100"), InvoiceLine("fixed", "Pro", 2000)],
        subtotal=2250, tax_amount=428, taxes=[InvoiceTax(1900, False, 428, id="vat", name="VAT", country="DE")],
        total=2678, applied_balance=-678, amount_due=2000, customer_tax_id=["DE123", "eu_vat"])
    assert invoice_from_item(entity_item(invoice)) == invoice


def test_an_invoice_from_before_stacked_rates_and_balances_reads_its_one_rate_and_owes_its_total() -> None:
    item = to_item({"id": "i0", "number": 1, "organization_id": "org", "customer_id": "c1", "subscription_id": "s1",
                    "product_id": "p1", "status": "open", "billing_reason": "subscription_create",
                    "currency": "usd", "period_start": "2026-01-01T00:00:00Z", "period_end": "2026-02-01T00:00:00Z",
                    "created_at": "2026-01-01T00:00:00Z", "subtotal": 1000, "tax_amount": 190, "total": 1190,
                    "tax_rate": {"id": "r", "name": "VAT", "basis_points": 1900, "country": "DE",
                                 "organization_id": "org", "created_at": "2025-12-01T00:00:00Z"},
                    "lines": [{"kind": "fixed", "description": "Pro", "amount": 1000, "quantity": "1"}]})
    invoice = invoice_from_item(item)
    assert invoice.taxes == [InvoiceTax(1900, False, 190, id="r", name="VAT", country="DE")]
    assert (invoice.amount_due, invoice.applied_balance, invoice.lines[0].quantity) == (1190, 0, "1")


def test_a_product_reads_its_prices_as_entities() -> None:
    product = Product(id="p1", organization_id="org", name="Pro", recurring_interval="month",
                      created_at="2026-01-01T00:00:00Z", prices=[
                          Price("f", "fixed", "2026-01-01T00:00:00Z", price_amount=2000),
                          Price("t", "metered_tiers", "2026-01-01T00:00:00Z", meter_id="m1", tiers={
                              "type": "volume", "tiers": [{"bound": 10, "unit_amount": "2"},
                                                          {"bound": None, "unit_amount": "1"}]}, credited_units=5)])
    assert product_from_item(entity_item(product)) == product
    assert (product.fixed_amount, product.currency, [p.id for p in product.metered_prices()]) == (2000, "usd", ["t"])


def test_a_customer_reads_each_subscriptions_billing_state_as_an_entity() -> None:
    monthly = BillingState("s1", "2026-01-31T00:00:00Z", "month", 1, 2, "2026-03-31T00:00:00Z",
                           "2026-04-30T00:00:00Z", {"m1": "12.5"}, ["m1"], "2026-01-31T00:00:00Z")
    yearly = BillingState("s2", "2026-02-10T00:00:00Z", "year", 1, 0, "2026-02-10T00:00:00Z",
                          "2027-02-10T00:00:00Z", {}, ["m2", "m3"], "2026-02-10T00:00:00Z")
    customer = Customer(id="c1", organization_id="org", created_at="2026-01-01T00:00:00Z",
                        billing={"s1": monthly, "s2": yearly})
    item = customer_item(customer)
    assert {name for name in item if name.startswith("billing#")} == {"billing#s1", "billing#s2"}
    assert customer_from_item(item) == customer
    assert customer_from_item(customer_item(Customer("c2", "org", "2026-01-01T00:00:00Z"))).billing == {}


def test_a_meter_follows_the_subscription_that_prices_it_else_the_oldest() -> None:
    first = BillingState("s9", "2026-01-05T00:00:00Z", "month", 1, 0, "2026-01-05T00:00:00Z",
                         "2026-02-05T00:00:00Z", meter_ids=["m1"], started_at="2026-01-05T00:00:00Z")
    later = BillingState("s1", "2026-01-20T00:00:00Z", "year", 1, 0, "2026-01-20T00:00:00Z",
                         "2027-01-20T00:00:00Z", meter_ids=["m2"], started_at="2026-01-20T00:00:00Z")
    customer = Customer("c1", "org", "2026-01-01T00:00:00Z", billing={"s1": later, "s9": first})
    assert customer.billing_for("m2") is later and customer.billing_for("m1") is first
    assert customer.billing_for("unpriced") is first  # the oldest by start, not the smallest id
    assert Customer("c2", "org", "2026-01-01T00:00:00Z").billing_for("m1") is None
