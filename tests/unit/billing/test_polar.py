"""Meterbill's records in Polar's customer-portal shapes (functions/billing/polar.py), checked by polar-sdk's own
loader: what the client would parse, with the amounts Polar's identities require. Pure."""

from __future__ import annotations

from typing import Any

import pytest
from polar.base import deserialize
from polar.v2026_10.outputs import CustomerOrder, CustomerSubscription

from functions.billing.polar import order_out, subscription_out
from functions.store.billing_entities import Invoice, InvoiceLine
from functions.store.entities import Meter
from functions.store.organizations import Organization
from tests.unit.entities import product, subscription

ORG = Organization(id="org", name="Acme AI, Inc.", created_at="2026-11-01T00:00:00Z")
METER = Meter(id="m1", organization_id="org", seq=1, name="Tokens", filter={}, aggregation={"func": "count"},
              created_at="2026-11-01T00:00:00Z", unit="token")
PRODUCT = product(id="p1", name="Pro", created_at="2026-11-01T00:00:00Z", prices=[
               {"id": "f", "amount_type": "fixed", "price_amount": 2000, "price_currency": "eur"},
               {"id": "z", "amount_type": "free", "price_currency": "eur"},
               {"id": "u", "amount_type": "metered_unit", "meter_id": "m1", "unit_amount": "0.5",
                "price_currency": "eur"},
               {"id": "t", "amount_type": "metered_tiers", "meter_id": "m1", "price_currency": "eur",
                "tiers": {"type": "volume", "tiers": [{"bound": 100, "unit_amount": "2"}, {"unit_amount": "1"}]}},
               {"id": "k", "amount_type": "metered_package", "meter_id": "m1", "package_size": 10,
                "package_amount": 100, "price_currency": "eur"}])
SUB = subscription(product_id="p1", created_at="2026-11-01T00:00:00Z", started_at="2026-11-01T00:00:00Z",
                   billing_anchor="2026-11-01T00:00:00Z", current_period_start="2026-11-01T00:00:00Z",
                   current_period_end="2026-12-01T00:00:00Z", cancel_at_period_end=True,
                   canceled_at="2026-11-20T00:00:00Z")


def invoice(status: str, **amounts: Any) -> Invoice:
    return Invoice(**{"id": "i1", "number": 7, "organization_id": "org", "customer_id": "c1",
                      "subscription_id": "s1", "product_id": "p1", "status": status,
                      "billing_reason": "subscription_cancel", "currency": "eur", "customer_name": "Lin",
                      "billing_address": {"city": "Lyon"}, "created_at": "2026-12-01T02:00:00Z",
                      "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z",
                      "lines": [InvoiceLine("fixed", "Pro", 2000),
                                InvoiceLine("proration", "Change", 400, price_id="f")], **amounts})


@pytest.mark.parametrize(("status", "polar_status", "paid", "due"), [
    ("open", "pending", False, 1900), ("paid", "paid", True, 0), ("void", "void", False, 0)])
def test_an_inclusive_invoice_reads_as_a_polar_order(status: str, polar_status: str, paid: bool, due: int) -> None:
    # 24.00 billed with 20% VAT included: 4.00 of tax in it, net 20.00; a 1.00 discount came off before; 5.00 of
    # the customer's credit paid part of it, 19.00 is due.
    order = order_out(invoice(status, subtotal=2500, discount_amount=100, tax_amount=400, total=2400,
                              tax_inclusive=True, applied_balance=-500, amount_due=1900), PRODUCT, SUB, ORG,
                      {"m1": METER})
    parsed = deserialize(order, CustomerOrder)
    assert (parsed.status, parsed.paid, parsed.due_amount, parsed.applied_balance_amount) == (
        polar_status, paid, due, -500)
    assert (parsed.subtotal_amount, parsed.discount_amount, parsed.net_amount, parsed.tax_amount,
            parsed.total_amount) == (2100, 100, 2000, 400, 2400)
    assert parsed.billing_reason == "subscription_cycle"  # Polar has no reason for a final invoice
    assert parsed.billing_address is None  # an address without a country is none to Polar
    assert (parsed.invoice_number, parsed.receipt_number, parsed.refundable_amount) == ("7", None, 0)
    assert [(i.label, i.amount, i.proration, i.tax_amount) for i in parsed.items] == [
        ("Pro", 2000, False, 0), ("Change", 400, True, 0)]
    assert parsed.subscription is not None and parsed.subscription.amount == 2000


def test_a_subscription_reads_with_polar_prices_and_no_package_price() -> None:
    parsed = deserialize(subscription_out(SUB, PRODUCT, ORG, {"m1": METER}, []), CustomerSubscription)
    assert [(p.amount_type, p.id) for p in parsed.prices] == [("fixed", "f"), ("fixed", "z"), ("metered_unit", "u"),
                                                              ("metered_tiers", "t")]
    assert (parsed.amount, parsed.currency, parsed.ends_at) == (2000, "eur", "2026-12-01T00:00:00Z")
    assert parsed.product.organization.slug == "acme-ai-inc"
