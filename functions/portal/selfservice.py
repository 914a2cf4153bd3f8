"""What a customer may change in the portal: the plan (among the products the organization offers in the
portal, with the proration shown first), cancelling at the period end and undoing it, and the billing details.
Every change goes through the same billing code as the management API and leaves an audit entry the
organization can read (GET /v1/audit-log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from functions.billing import catalogue, subscriptions
from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.customer_sessions.service import CustomerPrincipal
from functions.customers import service as customers
from functions.customers.schemas import polar_tax_id
from functions.store import activity
from functions.store import billing as billing_store
from functions.store import customers as customer_store
from functions.store import organizations as organization_store
from functions.store.billing_entities import Invoice, Product, Subscription
from functions.store.entities import AuditEntry, Customer

PRORATION = "prorate"  # a plan change made by the customer carries its difference to the next invoice


@dataclass(frozen=True)
class Change:
    """The fields subscriptions.update_subscription reads (the management API passes its request model)."""

    product_id: str | None = None
    proration_behavior: str = PRORATION
    cancel_at_period_end: bool | None = None


def record(who: CustomerPrincipal, action: str, subject: str, changes: dict[str, Any]) -> AuditEntry:
    """One audit entry: who (the customer, through a customer session), when, what."""
    entry = AuditEntry(id=new_id(), organization_id=who.organization_id, created_at=iso(utcnow()),
                       actor={"type": "customer", "customer_id": who.customer_id, "via": "customer_portal"},
                       customer_id=who.customer_id, action=action, subject_id=subject, changes=changes)
    activity.put(who.organization_id, entry)
    return entry


def owned_subscription(who: CustomerPrincipal, subscription_id: str) -> Subscription:
    """The session's customer's subscription, or 404 (another customer's id looks like a missing one)."""
    sub = billing_store.get_subscription(who.organization_id, subscription_id)
    if sub is None or sub.customer_id != who.customer_id:
        raise NotFound("subscription not found")
    return sub


def offered_products(who: CustomerPrincipal, sub: Subscription) -> list[Product]:
    """The organization's portal products the subscription can switch to: same interval, not archived."""
    org = organization_store.get(who.organization_id)
    current = billing_store.get_product(who.organization_id, sub.product_id)
    out = []
    for product_id in (org.portal_products if org else None) or []:
        product = billing_store.get_product(who.organization_id, product_id)
        if (product is None or product.is_archived or product_id == sub.product_id or current is None
                or (product.recurring_interval, product.recurring_interval_count)
                != (current.recurring_interval, current.recurring_interval_count)):
            continue
        out.append(product)
    return out


def _target(who: CustomerPrincipal, sub: Subscription, product_id: str) -> Product:
    for product in offered_products(who, sub):
        if product.id == product_id:
            return product
    raise ValidationFailed([field_error(["body", "product_id"], "this product is not offered for this "
                                        "subscription")])


def change_preview(who: CustomerPrincipal, subscription_id: str, product_id: str,
                   now: datetime | None = None) -> dict[str, Any]:
    """What switching now would cost: the fixed-price difference for the rest of the period (billing's
    proration rule), added to (or, negative, taken off) the next invoice. Nothing is written."""
    sub = owned_subscription(who, subscription_id)
    if sub.status != "active":
        raise ValidationFailed([field_error(["path", "id"], "the subscription has ended")])
    new = _target(who, sub, product_id)
    old = catalogue.get_product(who.organization_id, sub.product_id)
    now = now or utcnow()
    amount = subscriptions.change_proration(sub, old, new, now)
    return {"subscription_id": sub.id, "current_product": {"id": old.id, "name": old.name},
            "product": new,
            "proration_behavior": PRORATION, "proration_amount": amount, "currency": new.currency, "as_of": iso(now),
            "period_end": sub.current_period_end}


def _left_to_the_close(invoice: Invoice) -> None:
    """The portal writes no invoice (a plan change is prorated onto the next one): it has no right to publish.
    Were one written, it stays on the unpublished index and the next close run publishes it (publish_pending)."""


def change_product(who: CustomerPrincipal, subscription_id: str, product_id: str) -> Subscription:
    sub = owned_subscription(who, subscription_id)
    if sub.status != "active":
        raise ValidationFailed([field_error(["path", "id"], "the subscription has ended")])
    _target(who, sub, product_id)
    before = sub.product_id
    updated = subscriptions.update_subscription(who.organization_id, subscription_id,
                                                cast(Any, Change(product_id=product_id)),
                                                publish=_left_to_the_close)
    record(who, "subscription.product_changed", subscription_id,
           {"product_id": {"from": before, "to": product_id}, "proration_behavior": PRORATION})
    return updated


def set_cancel_at_period_end(who: CustomerPrincipal, subscription_id: str, cancel: bool,
                             reason: str | None = None, comment: str | None = None) -> Subscription:
    sub = owned_subscription(who, subscription_id)
    if sub.status != "active":
        raise ValidationFailed([field_error(["path", "id"], "the subscription has ended")])
    before = bool(sub.cancel_at_period_end)
    updated = subscriptions.update_subscription(who.organization_id, subscription_id,
                                                cast(Any, Change(cancel_at_period_end=cancel)),
                                                publish=_left_to_the_close)
    if before != cancel:
        record(who, "subscription.cancel_scheduled" if cancel else "subscription.cancel_undone", subscription_id,
               {"cancel_at_period_end": {"from": before, "to": cancel},
                **({"cancellation_reason": reason} if reason else {}),
                **({"cancellation_comment": comment} if comment else {})})
    return updated


BILLING_FIELDS = ("billing_name", "billing_address", "tax_id")


def update_billing_details(who: CustomerPrincipal, changes: dict[str, Any]) -> Customer:
    """Billing name, address and tax id (Polar's CustomerPortalCustomerUpdate); the fields given only."""
    before = customers.get(who.organization_id, who.customer_id)
    changes = {k: v for k, v in changes.items() if k in BILLING_FIELDS}
    if changes:
        customer_store.set_billing_details(who.organization_id, who.customer_id, changes, iso(utcnow()))
        record(who, "customer.billing_details_updated", who.customer_id,
               {k: {"from": getattr(before, k), "to": v} for k, v in changes.items() if getattr(before, k) != v})
    return customers.get(who.organization_id, who.customer_id)


def portal_customer(customer: Customer) -> dict[str, Any]:
    """Polar's CustomerPortalCustomer shape, as far as Meterbill keeps the fields."""
    return {"id": customer.id, "created_at": customer.created_at, "modified_at": customer.modified_at,
            "email": customer.email or "", "email_verified": False, "name": customer.name,
            "billing_name": customer.billing_name or customer.name,
            "billing_address": customer.billing_address, "tax_id": polar_tax_id(customer.tax_id),
            "oauth_accounts": {}, "default_payment_method_id": None, "type": "individual",
            "balances": customer.balances()}
