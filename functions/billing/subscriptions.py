"""Subscriptions: create (the first cycle's fixed fee billed in advance), change product (proration), cancel
at period end or now (a final invoice with the usage so far), list. An invoice a change writes is published
right away through `publish` (the cycle close republishes one whose publication failed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from functions.billing import catalogue, invoices
from functions.billing.adjustments import proration_cents
from functions.billing.closing import (
    MAX_ATTEMPTS,
    Clock,
    InvoiceContext,
    RunCache,
    billing_state,
    close_subscription,
    commit,
    get_subscription,
    period_of,
    segment_usage,
    seller_of,
    usage_of,
    write_change,
    write_numbered,
)
from functions.billing.invoice import Line, fixed_lines
from functions.billing.polar import Named
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import Conflict, Exhausted, NotFound, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.common.retry import pause_before_retry
from functions.meters.periods import Period, cycle
from functions.store import billing as store
from functions.store import customers as customer_store
from functions.store.billing import InvoiceWrite
from functions.store.billing_entities import Invoice, Product, Subscription
from functions.store.customers import CustomerRef
from functions.store.entities import Customer

if TYPE_CHECKING:  # the request models, validated by the management routes
    from functions.billing.schemas import SubscriptionCreate, SubscriptionUpdate

Publisher = Callable[[Invoice], None]

__all__ = ["create_subscription", "get_subscription", "list_subscriptions", "revoke", "update_subscription"]


def _publish_written(invoice: Invoice | None, publish: Publisher) -> None:
    if invoice is not None:
        publish(invoice)


def create_subscription(org_id: str, body: SubscriptionCreate, *, clock: Clock = utcnow,
                        publish: Publisher = invoices.publish) -> Subscription:
    customer = customer_store.find(org_id, CustomerRef(body.customer_id, body.external_customer_id))
    if customer is None:  # an id in the body: a 422 naming it (Polar's answer), not a 404 of the route
        name = "customer_id" if body.customer_id else "external_customer_id"
        raise ValidationFailed([field_error(["body", name], "customer not found")])
    product = _body_product(org_id, body.product_id)
    _refuse_metered_twice(customer, product)
    discount = None
    if body.discount_code:
        discount = store.discount_by_code(org_id, body.discount_code)
        if discount is None:
            raise ValidationFailed([field_error(["body", "discount_code"], "discount not found")])
    elif body.discount_id:
        discount = store.get_discount(org_id, body.discount_id)
        if discount is None:
            raise ValidationFailed([field_error(["body", "discount_id"], "discount not found")])
    if discount and discount.archived_at:
        field = "discount_code" if body.discount_code else "discount_id"
        raise ValidationFailed([field_error(["body", field], "the discount is archived")])
    currency = product.currency
    if discount and discount.type == "fixed" and discount.currency.lower() != currency.lower():
        field = "discount_code" if body.discount_code else "discount_id"
        raise ValidationFailed([field_error(["body", field], f"the discount is an amount in "
                                            f"{discount.currency}; this product bills in {currency}")])
    now = clock()
    anchor = _anchor(body.billing_cycle_anchor, product, now)
    # Anchored now: cycle 0 starts at once. Anchored later: a first, shorter period (number -1) runs to the
    # anchor, as Stripe's billing_cycle_anchor; the cycles, from the anchor, keep its day of the month.
    first = -1 if anchor > now else 0
    period = Period(now, anchor) if first else cycle(now, product.recurring_interval,
                                                     product.recurring_interval_count, 0)
    before_first_invoice = Subscription(
        id=new_id(), organization_id=org_id, customer_id=customer.id, product_id=product.id, cycle=first,
        billing_anchor=iso(anchor), started_at=iso(now), current_period_start=iso(period.start),
        current_period_end=iso(period.end), discount_id=discount.id if discount else None, created_at=iso(now))
    # The context keeps the subscription as it is before its first invoice (a `once` discount applies to it).
    context = InvoiceContext(org_id, before_first_invoice, product, customer, discount, store.list_tax_rates(org_id),
                             clock, seller_of(org_id))
    lines = fixed_lines(product.prices, (iso(period.start), iso(period.end)), product.name)
    if first:  # the fee of a whole cycle, for the part of one until the anchor: to the microsecond, rounded once
        whole = cycle(anchor, product.recurring_interval, product.recurring_interval_count, -1)
        lines = [replace(line, amount=proration_cents(0, line.amount, whole.start, whole.end, now),
                         description=f"{line.description}, prorated to the billing cycle anchor",
                         unit_amount=None) for line in lines]
    billed = any(line.amount for line in lines)
    sub = replace(before_first_invoice, invoice_count=1) if billed else before_first_invoice
    write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=sub, before=None,
                         customer_billing=billing_state(sub, product),
                         discount_redemption=discount.id if discount else None,
                         billing_version_read=customer.billing_version)
    attempts: list[int] = []

    def build(w: InvoiceWrite, previous: int) -> None:
        if attempts:  # a retry: another subscription or the customer's credit balance may have moved meanwhile
            context.customer = customer_store.resolve(org_id, CustomerRef(customer_id=customer.id))
            _refuse_metered_twice(context.customer, product)
            w.billing_version_read = context.customer.billing_version
        attempts.append(previous)
        if billed:  # fixed prices are billed in advance: the first cycle's fee now
            amounts = context.totals(lines, period.start)
            w.invoice = context.invoice("subscription_create", "0", amounts, period, previous + 1)
            w.balance = context.balance_change(amounts)
        w.previous_number = previous

    try:
        written = commit(write, build)
    except Exhausted as exc:
        raise ValidationFailed([field_error(["body", "discount_id"], str(exc))]) from exc
    _publish_written(written, publish)
    return sub


def _anchor(requested: datetime | None, product: Product, now: datetime) -> datetime:
    if requested is None:
        return now
    requested = requested.astimezone(UTC)
    latest = cycle(now, product.recurring_interval, product.recurring_interval_count, 0).end
    if not now < requested <= latest:
        raise ValidationFailed([field_error(["body", "billing_cycle_anchor"], "must be in the future, at most one "
                                            f"cycle away (by {iso(latest)})")])
    return requested


def _refuse_metered_twice(customer: Customer, product: Product, subscription_id: str | None = None) -> None:
    """A customer may have several active subscriptions, but a meter is priced by at most one of them: usage is
    never billed twice, and each meter counts in one subscription's periods (Customer.billing_for)."""
    priced = {p.meter_id for p in product.metered_prices() if p.meter_id}
    for other in customer.billing.values():
        both = priced & set(other.meter_ids)
        if other.subscription_id != subscription_id and both:
            raise ValidationFailed([field_error(["body", "product_id"], (
                f"meter {sorted(both)[0]} is already priced by the customer's subscription {other.subscription_id}; "
                "a meter is billed by one active subscription of a customer"))])


def _body_product(org_id: str, product_id: str) -> Product:
    try:
        product = catalogue.get_product(org_id, product_id)
    except NotFound as exc:
        raise ValidationFailed([field_error(["body", "product_id"], "product not found")]) from exc
    if product.is_archived:  # off sale: nobody new subscribes or switches to it
        raise ValidationFailed([field_error(["body", "product_id"], "the product is archived")])
    return product


def named_by(org_id: str, subs: list[Subscription], include_deleted: bool = False) -> Named:
    """The products, customers, discounts and meters a page of subscriptions names (for their responses);
    `include_deleted`: a deleted customer too (a webhook of a subscription revoked by the customer's deletion)."""
    customers = {}
    for customer_id in {s.customer_id for s in subs}:
        found = customer_store.get(org_id, customer_id, include_deleted=include_deleted)
        if found is not None:
            customers[customer_id] = found
    return Named(products={p.id: p for p in store.list_products(org_id)}, customers=customers,
                 discounts={d.id: d for d in store.list_discounts(org_id)}, meters=catalogue.meters_by_id(org_id))


def list_subscriptions(org_id: str, customer_id: str | None = None, active: bool | None = None
                       ) -> list[Subscription]:
    """Newest first."""
    rows = store.list_subscriptions(org_id)
    if customer_id:
        rows = [s for s in rows if s.customer_id == customer_id]
    if active is not None:
        rows = [s for s in rows if s.active == active]
    rows.sort(key=lambda s: s.created_at, reverse=True)
    return rows


def update_subscription(org_id: str, subscription_id: str, body: SubscriptionUpdate, *, publish: Publisher,
                        clock: Clock = utcnow) -> Subscription:
    """`publish` has no default: the caller says what becomes of an invoice the change writes (the management
    API publishes it; the portal, whose role may not, leaves it to the close's repair)."""
    sub = get_subscription(org_id, subscription_id)
    if not sub.active:
        raise ValidationFailed([field_error(["body"], "the subscription has ended")])
    if body.product_id and body.product_id != sub.product_id:
        return change_product(org_id, sub, _body_product(org_id, body.product_id), body.proration_behavior,
                              clock=clock, publish=publish)
    if body.cancel_at_period_end is not None:
        before = sub
        sub = replace(sub, cancel_at_period_end=body.cancel_at_period_end,
                      canceled_at=iso(clock()) if body.cancel_at_period_end else None, modified_at=iso(clock()))
        product = catalogue.get_product(org_id, sub.product_id)
        write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=sub,
                             before=before, customer_billing=billing_state(sub, product))
        if not write_change(write).committed:
            raise Conflict("the subscription changed meanwhile; retry")
    return sub


def change_product(org_id: str, sub: Subscription, new: Product, behavior: str, *, publish: Publisher,
                   clock: Clock = utcnow) -> Subscription:
    """Same cycle, new prices. The change closes a usage segment: the old product's meters' aggregates are
    closed in the change's transaction (guarded by their versions, so a concurrent ingest makes the change
    re-read and retry) and their usage so far is billed at the old prices; the rest of the cycle counts in a new
    segment at the new prices. That usage and the fixed-price difference for the rest of the cycle are charged
    now (`invoice`) or carried to the next invoice (`prorate`)."""
    old = catalogue.get_product(org_id, sub.product_id)
    if (old.recurring_interval, old.recurring_interval_count) != (new.recurring_interval,
                                                                   new.recurring_interval_count):
        raise ValidationFailed([field_error(["body", "product_id"], "the new product must recur on the same "
                                            "interval")])
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # the usage or the counter moved under another writer: read again
            pause_before_retry(attempt - 1)
            sub = get_subscription(org_id, sub.id)
            if not sub.active or sub.product_id != old.id:
                raise Conflict("the subscription changed meanwhile; retry")
        written = _change_once(org_id, sub, old, new, behavior, clock)
        if written is not None:
            changed, invoice = written
            _publish_written(invoice, publish)
            return changed
    raise Conflict("the subscription could not be changed under contention; retry")


def change_proration(sub: Subscription, old: Product, new: Product, at: datetime) -> int:
    """The fixed-fee difference for the rest of the period from `at`, as a share of the cycle the fee is for: the
    current one, or in the first, shorter period before a billing cycle anchor, the whole cycle that ends there
    (its fee was prorated the same way)."""
    fee_period = period_of(sub, old, sub.cycle)
    return proration_cents(old.fixed_amount, new.fixed_amount, fee_period.start, fee_period.end, at)


def _change_once(org_id: str, sub: Subscription, old: Product, new: Product, behavior: str,
                 clock: Clock) -> tuple[Subscription, Invoice | None] | None:
    """One attempt; None when the usage or the invoice counter moved."""
    now = clock()
    period = Period(parse_iso(sub.current_period_start), parse_iso(sub.current_period_end))
    cache = RunCache()  # the customer, tax rates and seller read once for both products' contexts
    old_context = InvoiceContext.load(org_id, sub, old, cache=cache, clock=clock)
    _refuse_metered_twice(old_context.customer, new, sub.id)
    aggregates, meters = usage_of(old_context, cache)
    segment = segment_usage(sub, old, aggregates, meters, period.end, now)
    amount = change_proration(sub, old, new, now)
    lines = [line for line in segment.lines if Decimal(line.consumed_units or 0)]
    if amount:
        lines.append(Line(kind="proration", description=f"{old.name} -> {new.name} for the rest of the period",
                          amount=amount, quantity="1", period_start=iso(now), period_end=sub.current_period_end))
    used = dict(sub.credits_used)
    for meter_id, credit in segment.credits.items():
        taken = min(credit, segment.consumed.get(meter_id, Decimal(0)))
        used[meter_id] = str(Decimal(used.get(meter_id, "0")) + taken)
    before = sub
    sub = replace(sub, product_id=new.id, modified_at=iso(now), usage_start=iso(now), credits_used=used)
    context = InvoiceContext.load(org_id, sub, new, cache=cache, clock=clock)
    write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=sub, before=before,
                         customer_billing=billing_state(sub, new), close=segment.to_close,
                         billing_version_read=old_context.customer.billing_version)
    if behavior == "prorate" or not lines:
        sub = write.subscription = replace(sub, pending_lines=[*sub.pending_lines, *(asdict(line) for line in lines)])
        outcome = write_change(write)
        if outcome.already_done:
            raise Conflict("the subscription changed meanwhile; retry")
        return (sub, None) if outcome.committed else None

    amounts = context.totals(lines, now)
    sub = write.subscription = replace(sub, invoice_count=sub.invoice_count + 1)
    write.balance = context.balance_change(amounts)

    def build(w: InvoiceWrite, previous: int) -> None:
        w.invoice = context.invoice("subscription_update", iso(now), amounts, period, previous + 1)
        w.previous_number = previous

    outcome = write_numbered(write, build)
    if outcome.already_done:
        raise Conflict("the subscription changed meanwhile; retry")
    return (sub, write.invoice) if outcome.committed else None


def revoke(org_id: str, subscription_id: str, *, clock: Clock = utcnow, publish: Publisher = invoices.publish
           ) -> Subscription:
    """Cancel now: a final invoice with the usage so far (Polar's revoke)."""
    sub = get_subscription(org_id, subscription_id)
    result = close_subscription(org_id, subscription_id, clock(), cancel_now=True, clock=clock,
                                customer_id=sub.customer_id)
    _publish_written(result.invoice, publish)
    return get_subscription(org_id, subscription_id)
