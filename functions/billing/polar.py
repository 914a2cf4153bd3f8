"""Polar's shapes for products, subscriptions and orders, filled from what Meterbill keeps (pure: the records in, the
shapes out): the customer portal's, the organization API's and the webhooks'.

Where Polar has a field Meterbill has nothing behind (trials, seats, pauses, payments, refunds, benefits), it
answers the value that says so (null, false, 0, []), never an invented one. The mapping of invoices onto Polar's
orders is in docs/portal.md ("Polar's customer-portal API").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.customer_meters.service import customer_meter_id
from functions.customers.schemas import customer_out
from functions.organizations.profile import CUSTOMER_PORTAL_SETTINGS, slug_of
from functions.store.billing_entities import Discount, Invoice, Price, Product, Subscription
from functions.store.entities import Customer, Meter
from functions.store.organizations import Organization

# Meterbill's invoice statuses as Polar's order statuses. An open invoice is issued and awaits payment: Polar's
# `pending`. (A draft is only ever the upcoming-invoice preview, never a stored invoice.)
ORDER_STATUS = {"draft": "draft", "open": "pending", "paid": "paid", "void": "void"}
# Polar has no reason for the final invoice of a subscription cancelled now: it bills the cycle's usage so far.
BILLING_REASON = {"subscription_create": "subscription_create", "subscription_cycle": "subscription_cycle",
                  "subscription_update": "subscription_update", "subscription_cancel": "subscription_cycle"}


@dataclass(frozen=True)
class Named:
    """What subscriptions' responses embed besides themselves (read once for a page of them)."""
    products: dict[str, Product]
    customers: dict[str, Customer]
    discounts: dict[str, Discount]
    meters: dict[str, Meter]


def meter_ref(meter: Meter) -> dict[str, Any]:
    return {"id": meter.id, "name": meter.name, "created_at": meter.created_at, "modified_at": meter.modified_at,
            "unit": meter.unit, "custom_label": meter.custom_label}


def customer_organization(org: Organization) -> dict[str, Any]:
    """Polar's CustomerOrganization."""
    return {"id": org.id, "name": org.name, "created_at": org.created_at, "modified_at": org.modified_at,
            "slug": slug_of(org.name), "avatar_url": (org.branding or {}).get("logo_url"),
            "proration_behavior": "prorate", "allow_customer_updates": True,
            "customer_portal_settings": CUSTOMER_PORTAL_SETTINGS}


def price_out(price: Price, product: Product, meters: dict[str, Meter]) -> dict[str, Any] | None:
    """One of Polar's ProductPrice shapes; None for a package price, which Polar has no shape for."""
    out: dict[str, Any] = {"id": price.id, "created_at": price.created_at or product.created_at,
                           "modified_at": None, "source": "catalog", "price_currency": price.price_currency,
                           "tax_behavior": None, "is_archived": product.is_archived, "product_id": product.id}
    kind = price.amount_type
    if kind in ("fixed", "free"):  # a free price is a fixed price of 0
        return {**out, "amount_type": "fixed", "price_amount": price.price_amount or 0}
    if kind not in ("metered_unit", "metered_tiers") or price.meter_id is None:
        return None
    meter = meters.get(price.meter_id)
    out.update(amount_type=kind, meter_id=price.meter_id, cap_amount=price.cap_amount, meter={
        "id": price.meter_id, "name": meter.name if meter else price.meter_name or "",
        "unit": meter.unit if meter else "scalar", "custom_label": meter.custom_label if meter else None,
        "custom_multiplier": meter.custom_multiplier if meter else None})
    if kind == "metered_unit":
        out["unit_amount"] = str(price.unit_amount)
    else:
        tiers = price.tier_spec
        out["tiers"] = {"type": tiers["type"], "tiers": [
            {"bound": None if t.get("bound") is None else int(t["bound"]), "unit_amount": str(t["unit_amount"])}
            for t in tiers["tiers"]]}
    return out


def prices_out(product: Product, meters: dict[str, Meter]) -> list[dict[str, Any]]:
    return [p for p in (price_out(price, product, meters) for price in product.prices) if p is not None]


def product_out(product: Product, org: Organization, meters: dict[str, Meter]) -> dict[str, Any]:
    """Polar's CustomerSubscriptionProduct (and CustomerOrderProduct, the same fields)."""
    return {"id": product.id, "created_at": product.created_at, "modified_at": product.modified_at,
            "trial_interval": None, "trial_interval_count": None, "name": product.name,
            "description": product.description, "visibility": "public",
            "recurring_interval": product.recurring_interval,
            "recurring_interval_count": product.recurring_interval_count,
            "meter_interval": None, "meter_interval_count": None,  # meters count over the subscription's cycle
            "is_recurring": True, "is_archived": product.is_archived, "organization_id": org.id,
            "prices": prices_out(product, meters), "benefits": [], "medias": [],
            "organization": customer_organization(org)}


def offered_product_out(product: Product) -> dict[str, Any]:
    """A product a subscription may switch to (the portal's CustomerProduct), with the API's prices."""
    return {"id": product.id, "name": product.name, "recurring_interval": product.recurring_interval,
            "recurring_interval_count": product.recurring_interval_count,
            "prices": [p.fields_of_kind() for p in product.prices]}


def subscription_core(sub: Subscription, product: Product) -> dict[str, Any]:
    """Polar's CustomerOrderSubscription: the subscription without its product, prices and meters."""
    ended = sub.ended_at
    return {
        "id": sub.id, "created_at": sub.created_at, "modified_at": sub.modified_at,
        "amount": product.fixed_amount, "currency": product.currency,
        "recurring_interval": product.recurring_interval,
        "recurring_interval_count": product.recurring_interval_count, "status": sub.status,
        "current_period_start": sub.current_period_start, "current_period_end": sub.current_period_end,
        "current_meter_period_start": None, "current_meter_period_end": None, "trial_start": None,
        "trial_end": None, "cancel_at_period_end": bool(sub.cancel_at_period_end),
        "canceled_at": sub.canceled_at, "started_at": sub.started_at,
        "ends_at": ended or (sub.current_period_end if sub.cancel_at_period_end else None),
        "ended_at": ended, "past_due_at": None, "pause_at_period_end": False, "paused_at": None,
        "resumes_at": None, "customer_id": sub.customer_id, "product_id": sub.product_id,
        "discount_id": sub.discount_id, "checkout_id": None, "seats": None, "units": None,
        # Kept in the audit entry of the cancellation (GET /v1/audit-log), not on the subscription.
        "customer_cancellation_reason": None, "customer_cancellation_comment": None,
    }


def subscription_out(sub: Subscription, product: Product, org: Organization, meters: dict[str, Meter],
                     usage: list[dict[str, Any]]) -> dict[str, Any]:
    """Polar's CustomerSubscription. `usage`: the subscription's meters this period (Polar's
    CustomerSubscriptionMeter, built by the service from the customer meters and the upcoming invoice)."""
    return {**subscription_core(sub, product), "product": product_out(product, org, meters),
            "prices": prices_out(product, meters), "meters": usage, "pending_update": None}


def subscription_meter(customer_id: str, meter: Meter, consumed: Any, credited: int, amount: int,
                       period_start: str) -> dict[str, Any]:
    return {"id": customer_meter_id(customer_id, meter.id), "created_at": period_start, "modified_at": None,
            "consumed_units": consumed, "credited_units": credited, "amount": amount, "meter_id": meter.id,
            "meter": {"id": meter.id, "name": meter.name, "created_at": meter.created_at,
                      "modified_at": meter.modified_at}}


def address_out(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """Polar's Address needs a country; an address without one is no address to Polar."""
    return address if address and address.get("country") else None


def order_out(invoice: Invoice, product: Product | None, sub: Subscription | None,
              org: Organization, meters: dict[str, Meter]) -> dict[str, Any]:
    """Polar's CustomerOrder from a Meterbill invoice. Polar's amounts keep total = net + tax, so with an
    inclusive rate net is the total less the tax in it; the lines stay as billed."""
    total, tax, discount = invoice.total, invoice.tax_amount, invoice.discount_amount
    net = total - tax
    applied = invoice.applied_balance
    status = ORDER_STATUS[invoice.status]
    return {
        "id": invoice.id, "created_at": invoice.created_at, "modified_at": invoice.modified_at,
        "status": status, "paid": status == "paid", "subtotal_amount": net + discount,
        "discount_amount": discount, "net_amount": net, "tax_amount": tax, "total_amount": total,
        # The customer's credit balance on this invoice, in Polar's sign (due = total + applied).
        "applied_balance_amount": applied, "due_amount": total + applied if status == "pending" else 0,
        "refunded_amount": 0, "refunded_tax_amount": 0, "currency": invoice.currency,
        "billing_reason": BILLING_REASON.get(invoice.billing_reason, "subscription_cycle"),
        "billing_name": invoice.customer_name, "billing_address": address_out(invoice.billing_address),
        "invoice_number": str(invoice.number), "is_invoice_generated": True, "receipt_number": None,
        "seats": None, "units": None, "customer_id": invoice.customer_id, "product_id": invoice.product_id,
        "discount_id": invoice.discount_id, "subscription_id": invoice.subscription_id,
        "checkout_id": None, "next_payment_attempt_at": None,
        "product": product_out(product, org, meters) if product else None,
        "subscription": subscription_core(sub, product) if sub and product else None,
        "items": [{"id": f"{invoice.id}-{i}", "created_at": invoice.created_at, "modified_at": None,
                   "label": line.description, "amount": line.amount,
                   "tax_amount": 0,  # Meterbill taxes the invoice as a whole: the tax is the order's tax_amount
                   "proration": line.kind == "proration", "product_price_id": line.price_id,
                   "start_timestamp": line.period_start, "end_timestamp": line.period_end}
                  for i, line in enumerate(invoice.lines)],
        "description": product.name if product else "",
        "refundable_amount": 0, "refundable_tax_amount": 0,  # Meterbill takes no payments, so refunds none
    }


def organization_order_out(invoice: Invoice, product: Product | None, sub: Subscription | None, org: Organization,
          meters: dict[str, Meter], customer: Customer) -> dict[str, Any]:
    """Polar's Order (the organization's view: the customer-portal order plus the customer and what Polar keeps
    for payments, which Meterbill does not take: no platform fee, no custom fields)."""
    shaped = order_out(invoice, product, sub, org, meters)
    if product is not None and shaped["product"] is not None:
        shaped["product"] = {**shaped["product"], "metadata": product.metadata}
    if shaped["subscription"] is not None:
        shaped["subscription"] = {**shaped["subscription"], "metadata": {}}  # subscriptions keep no metadata
    return {**shaped, "customer": customer_out(customer), "metadata": {}, "custom_field_data": {},
            "platform_fee_amount": 0, "platform_fee_currency": None,
            "discount": None}  # `discount_id` names it; Polar's embedded discount is not built here
