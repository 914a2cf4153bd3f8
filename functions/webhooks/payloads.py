"""Polar's Order, the data of an `order.created` webhook, from a Meterbill invoice (pure)."""

from __future__ import annotations

from typing import Any

from functions.billing.polar import order_out
from functions.customers.schemas import customer_out
from functions.store.entities import Customer, Invoice, Meter, Product, Subscription
from functions.store.organizations import Organization


def order(invoice: Invoice, product: Product | None, sub: Subscription | None, org: Organization,
          meters: dict[str, Meter], customer: Customer) -> dict[str, Any]:
    """Polar's Order (the organization's view: the customer-portal order plus the customer and what Polar keeps
    for payments, which Meterbill does not take: no platform fee, no custom fields)."""
    shaped = order_out(invoice, product, sub, org, meters)
    if product is not None and shaped["product"] is not None:
        shaped["product"] = {**shaped["product"], "metadata": product.metadata}
    if shaped["subscription"] is not None:
        shaped["subscription"] = {**shaped["subscription"], "metadata": {}}  # subscriptions keep no metadata
    return {**shaped, "customer": customer_out(customer), "metadata": {}, "custom_field_data": {},
            "platform_fee_amount": 0, "platform_fee_currency": None, "discount": None}
