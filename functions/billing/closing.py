"""Closing a subscription's period: its invoice (usage in arrears, fixed fees in advance, prorations carried),
the renewal, and the preview of what closing now would bill (the same code, nothing written).

Every invoice is computed by functions/billing/invoice.py (pure) and written with the subscription change it
belongs to in one transaction (`store.billing.write_invoice`), numbered from the organization's counter in that
same transaction (`write_numbered`), so numbers have no gaps and no repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.billing import announcements, catalogue
from functions.billing.adjustments import discount_applies, find_tax_rates
from functions.billing.announcements import Announcement, balance_announcements, subscription_announcements
from functions.billing.invoice import InvoiceAmounts, Line, fixed_lines, total_invoice, usage_lines
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import Conflict, NotFound, ValidationFailed, field_error
from functions.common.retry import pause_before_retry
from functions.customer_meters.service import consumed as meter_consumed
from functions.meters.periods import Period, cycle
from functions.store import billing as store
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store import organizations as organization_store
from functions.store.aggregates import StoredAggregate, customer_aggregates
from functions.store.billing import BalanceChange, ClosingAggregate, InvoiceWrite, WriteOutcome
from functions.store.billing_entities import Discount, Invoice, Product, Subscription, TaxRate
from functions.store.entities import BillingState, Customer, Meter
from functions.store.keys import AGGREGATE_SHARDS

INVOICE_NAMESPACE = uuid.UUID("0f3c7e1a-2b4d-4c6e-8f90-a1b2c3d4e5f6")
MAX_ATTEMPTS = 8
PAYMENT_TERMS_DAYS = 14  # when the organization sets none: due two weeks after issue (docs/portal.md)

Clock = Callable[[], datetime]


def invoice_id(subscription_id: str, reason: str, marker: str) -> str:
    """Deterministic: a second run of the same close (or a retried request) writes the same invoice."""
    return str(uuid.uuid5(INVOICE_NAMESPACE, f"{subscription_id}|{reason}|{marker}"))


def get_subscription(org_id: str, subscription_id: str) -> Subscription:
    sub = store.get_subscription(org_id, subscription_id)
    if sub is None:
        raise NotFound("subscription not found")
    return sub


def credits_of(product: Product, rollover: dict[str, str], used: dict[str, str] | None = None
               ) -> dict[str, str]:
    """The units credited per meter in the open usage segment: the product's grant plus the rollover, less what
    earlier segments of the same cycle already used (a product change grants no second allowance)."""
    used = used or {}
    credits: dict[str, str] = {}
    for price in product.metered_prices():
        meter_id = price.meter_id or ""
        if price.credited_units or rollover.get(meter_id):
            total = Decimal(price.credited_units) + Decimal(rollover.get(meter_id, "0"))
            credits[meter_id] = str(max(Decimal(0), total - Decimal(used.get(meter_id, "0"))))
    return credits


def usage_start(subscription: Subscription) -> str:
    """Where the open usage segment starts: the cycle's start, or the last product change in it."""
    return subscription.usage_start or subscription.current_period_start


def segment_credits(subscription: Subscription, product: Product) -> dict[str, str]:
    return credits_of(product, subscription.rollover, subscription.credits_used)


def billing_state(subscription: Subscription, product: Product) -> BillingState:
    """What ingest and the customer meters need on the customer item: the cycle and its credits."""
    return BillingState(subscription_id=subscription.id, anchor=subscription.billing_anchor,
                        interval=product.recurring_interval, interval_count=product.recurring_interval_count,
                        cycle=subscription.cycle, period_start=usage_start(subscription),
                        period_end=subscription.current_period_end,
                        credits=segment_credits(subscription, product),
                        meter_ids=sorted({p.meter_id for p in product.metered_prices() if p.meter_id}),
                        started_at=subscription.started_at)


@dataclass
class RunCache:
    """What one cycle-close run reads once and reuses across the subscriptions it closes. A stale entry only
    costs a retry: every write is guarded (the counter by its value, the usage by the aggregates' versions)."""

    products: dict[tuple[str, str], Product] = field(default_factory=dict)
    discounts: dict[tuple[str, str], Discount | None] = field(default_factory=dict)
    tax_rates: dict[str, list[TaxRate]] = field(default_factory=dict)
    meters: dict[str, dict[str, Meter]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)  # organization -> last invoice number written
    sellers: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # Set by the close worker: the announcements its closes wrote are gathered here and published together,
    # in batches, after its batch of closes (functions/billing/close.py), instead of one bus call per close.
    announcements: list[Announcement] | None = None


@dataclass
class InvoiceContext:
    org_id: str
    subscription: Subscription
    product: Product
    customer: Customer
    discount: Discount | None
    tax_rates: list[TaxRate]
    clock: Clock = utcnow
    seller: dict[str, Any] | None = None  # the organization's details printed on the invoice

    @classmethod
    def load(cls, org_id: str, subscription: Subscription, product: Product | None = None,
             cache: RunCache | None = None, clock: Clock = utcnow, customer: Customer | None = None
             ) -> InvoiceContext:
        """`customer`: the subscription's, when the caller read it with the subscription (the close)."""
        cache = RunCache() if cache is None else cache
        product_key = (org_id, subscription.product_id)
        if product is None:
            product = cache.products.get(product_key) or catalogue.get_product(org_id, subscription.product_id)
        cache.products[(org_id, product.id)] = product
        discount = None
        if subscription.discount_id:
            discount_key = (org_id, subscription.discount_id)
            if discount_key not in cache.discounts or cache.discounts[discount_key] is None:
                cache.discounts[discount_key] = store.get_discount(org_id, subscription.discount_id)
            discount = cache.discounts[discount_key]
        if org_id not in cache.tax_rates:
            cache.tax_rates[org_id] = store.list_tax_rates(org_id)
        if customer is None:
            customer = customer_store.get(org_id, subscription.customer_id)
        if customer is None:
            raise NotFound("customer not found")
        if org_id not in cache.sellers:
            cache.sellers[org_id] = seller_of(org_id)
        return cls(org_id, subscription, product, customer, discount, cache.tax_rates[org_id], clock,
                   cache.sellers[org_id])

    def applying_tax_rates(self) -> list[TaxRate]:
        return find_tax_rates(self.tax_rates, self.customer.billing_address, self.customer.tax_exempt)

    @property
    def payment_terms_days(self) -> int:
        """The customer's own terms, else the organization's."""
        if self.customer.payment_terms_days is not None:
            return self.customer.payment_terms_days
        return int((self.seller or {}).get("payment_terms_days", PAYMENT_TERMS_DAYS))

    def totals(self, lines: list[Line], issued_at: datetime) -> InvoiceAmounts:
        sub = self.subscription
        applies = discount_applies(self.discount, parse_iso(sub.started_at), sub.invoice_count, issued_at)
        return total_invoice(lines, self.discount if applies else None, self.applying_tax_rates(), self.currency,
                             self.credit)

    @property
    def currency(self) -> str:
        return self.product.currency

    @property
    def credit(self) -> int:
        """The customer's credit balance in the invoice's currency (another currency's credit pays nothing)."""
        return int(self.customer.balance.get(self.currency.lower(), 0))

    def balance_change(self, amounts: InvoiceAmounts) -> BalanceChange | None:
        """The customer's balances once this invoice is written, guarded by the version read with them."""
        if not amounts.applied_balance:
            return None
        balances = {**self.customer.balance, self.currency.lower(): self.credit + amounts.applied_balance}
        return BalanceChange({c: int(v) for c, v in balances.items() if v}, self.customer.balance_version,
                             dict(self.customer.balance))

    def invoice(self, reason: str, marker: str, amounts: InvoiceAmounts, period: Period, number: int
                ) -> Invoice:
        sub, customer = self.subscription, self.customer
        issued = self.clock()
        return Invoice(
            id=invoice_id(sub.id, reason, marker), number=number, organization_id=self.org_id,
            customer_id=sub.customer_id, subscription_id=sub.id, product_id=self.product.id,
            # Nothing due (a credit, or paid from the balance): settled when issued, as Stripe marks it paid.
            status="open" if amounts.amount_due else "paid", billing_reason=reason, currency=self.currency,
            period_start=iso(period.start), period_end=iso(period.end),
            discount_id=sub.discount_id if amounts.discount_amount else None,
            customer_name=customer.billing_name or customer.name, customer_email=customer.email,
            customer_tax_id=customer.tax_id, billing_address=customer.billing_address,
            lines=amounts.lines, subtotal=amounts.subtotal, discount_amount=amounts.discount_amount,
            tax_amount=amounts.tax_amount, taxes=amounts.taxes, total=amounts.total,
            tax_inclusive=amounts.tax_inclusive, applied_balance=amounts.applied_balance,
            amount_due=amounts.amount_due, created_at=iso(issued),
            # The seller as it was when issued (the rates applied are in `taxes`), the due date from the terms.
            seller=self.seller, due_at=iso(issued + timedelta(days=self.payment_terms_days)))


def seller_of(org_id: str) -> dict[str, Any] | None:
    """The organization's name, seller details, support email and payment terms (one read), for invoices."""
    org = organization_store.get(org_id)
    if org is None:
        return None
    seller = {"name": org.name, **(org.seller or {}), "payment_terms_days": org.payment_terms_days
              if org.payment_terms_days is not None else PAYMENT_TERMS_DAYS}
    if (org.branding or {}).get("support_email"):
        seller["email"] = org.branding["support_email"]  # type: ignore[index]
    return seller


def period_of(sub: Subscription, product: Product, n: int) -> Period:
    return cycle(parse_iso(sub.billing_anchor), product.recurring_interval, product.recurring_interval_count, n)


def write_change(w: InvoiceWrite, announce_now: bool = True) -> WriteOutcome:
    """Every subscription change is written here: the announcements it owes (billing/announcements.py) join its
    transaction, and once it committed they are published, unless `announce_now` is off (a close worker
    publishes its batch's renewals together, in batches, after the batch)."""
    at = w.subscription.modified_at or w.subscription.created_at
    w.announcements = subscription_announcements(w.before, w.subscription, at)
    if w.balance is not None:
        w.announcements += balance_announcements(w.org_id, w.subscription.customer_id, w.balance.before,
                                                 w.balance.balances, w.balance.version_read + 1, at)
    outcome = store.write_invoice(w)
    if outcome.committed and announce_now:
        announcements.publish(w.announcements)
    return outcome


def write_numbered(write: InvoiceWrite, build: Callable[[InvoiceWrite, int], None],
                   counters: dict[str, int] | None = None, announce_now: bool = True) -> WriteOutcome:
    """One attempt at writing an invoice with the organization's next number: `build` completes the write
    given the last number taken. `counters` remembers the counter across writes (the cycle close's run); a
    stale value costs a retry, since the counter's update is guarded by the value read."""
    counters = {} if counters is None else counters
    if write.org_id not in counters:
        counters[write.org_id] = store.invoice_counter(write.org_id)
    build(write, counters[write.org_id])
    outcome = write_change(write, announce_now)
    if outcome.committed and write.invoice is not None:
        counters[write.org_id] = write.invoice.number
    elif not outcome.committed:
        counters.pop(write.org_id, None)
    return outcome


def commit(write: InvoiceWrite, build: Callable[[InvoiceWrite, int], None]) -> Invoice | None:
    """Write with the next invoice number, retrying while another invoice took it. None: the change was
    already written (by a retried request or a concurrent one)."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # the counter moved under another writer
            pause_before_retry(attempt - 1)
        outcome = write_numbered(write, build)
        if outcome.committed:
            return write.invoice
        if outcome.already_done:
            return None
    raise Conflict("the invoice could not be written under contention; retry (it is idempotent)")


# The close: one subscription's period ---------------------------------------------------------------------

@dataclass
class CloseResult:
    invoice: Invoice | None
    written: bool
    notes: list[str] = field(default_factory=list)
    next_period_end: str | None = None  # after a close that renewed: when the new period ends


@dataclass
class ClosePlan:
    lines: list[Line]
    rollover: dict[str, str]  # meter id -> credits carried to the next cycle
    to_close: list[ClosingAggregate]
    following: Period | None  # the next cycle; None when the subscription ends with this close


@dataclass
class SegmentUsage:
    """One usage segment of a product's metered prices: its lines at those prices and the aggregates it closes."""

    lines: list[Line]
    consumed: dict[str, Decimal]
    credits: dict[str, Decimal]
    to_close: list[ClosingAggregate]


def segment_usage(sub: Subscription, product: Product, aggregates: Mapping[str, StoredAggregate],
                  meters: Mapping[str, Meter], cycle_end: datetime, until: datetime) -> SegmentUsage:
    """The open usage segment (from `usage_start(sub)` to `until`) billed at `product`'s metered prices. Pure:
    `aggregates` are the segment's, by meter id. Each segment aggregates its own events (a max, unique, last or
    avg is the segment's own, docs/billing.md)."""
    consumed: dict[str, Decimal] = {}
    closing_list: list[ClosingAggregate] = []
    start = usage_start(sub)
    for price in product.metered_prices():
        meter_id = price.meter_id or ""
        if meter_id in consumed:
            continue
        agg = aggregates.get(meter_id)
        consumed[meter_id] = meter_consumed(meters[meter_id], agg) if agg and meter_id in meters else Decimal(0)
        first, *others = agg.shard_versions() if agg else (None,) * AGGREGATE_SHARDS
        closing_list.append(ClosingAggregate(sub.customer_id, meter_id, start, iso(cycle_end), first, tuple(others)))
    credits = {m: Decimal(v) for m, v in segment_credits(sub, product).items()}
    lines = usage_lines(product.prices, consumed, credits, (start, iso(until)))
    return SegmentUsage(lines, consumed, credits, closing_list)


def plan_close(context: InvoiceContext, closing: Period, ending: bool, aggregates: Mapping[str, StoredAggregate],
               meters: Mapping[str, Meter], final_at: datetime | None = None) -> ClosePlan:
    """Lines of the invoice that closes `closing`: metered usage of the last segment (arrears), pending lines
    (prorations, earlier segments' usage), and unless the subscription ends, the next cycle's fixed fee
    (advance). Also the new rollover and what to close. Pure: `aggregates` are the open segment's, by meter id."""
    sub, product = context.subscription, context.product
    usage = segment_usage(sub, product, aggregates, meters, closing.end, final_at or closing.end)
    consumed, credits, closing_list = usage.consumed, usage.credits, usage.to_close
    lines = usage.lines + [Line(**p) for p in sub.pending_lines]
    rollover = {}
    for price in product.metered_prices():
        meter_id = price.meter_id or ""
        if price.rollover:
            left = credits.get(meter_id, Decimal(0)) - consumed.get(meter_id, Decimal(0))
            if left > 0:
                rollover[meter_id] = str(left)
    following = None
    if not ending:
        following = period_of(sub, product, sub.cycle + 1)
        lines += fixed_lines(product.prices, (iso(following.start), iso(following.end)), product.name)
    return ClosePlan(lines, rollover, closing_list, following)


def usage_of(context: InvoiceContext, cache: RunCache | None = None
             ) -> tuple[dict[str, StoredAggregate], dict[str, Meter]]:
    """The open usage segment's aggregates (one query) and, for metered products, the organization's meters."""
    cache = RunCache() if cache is None else cache
    meters: dict[str, Meter] = {}
    if context.product.metered_prices():
        meters = cache.meters.get(context.org_id) or {m.id: m for m in meter_store.list_all(context.org_id)}
        cache.meters[context.org_id] = meters
    start = usage_start(context.subscription)
    aggregates = {a.meter_id: a for a in customer_aggregates(context.org_id, context.subscription.customer_id,
                                                             period=start)}
    return aggregates, meters


def close_subscription(org_id: str, subscription_id: str, as_of: datetime, cache: RunCache | None = None,
                       cancel_now: bool = False, clock: Clock = utcnow, customer_id: str | None = None
                       ) -> CloseResult:
    """Close the subscription's current period if it ended before `as_of` (or now, for an immediate cancel).
    With `customer_id` (the due index has it), the subscription and its customer are read in one request."""
    cache = RunCache() if cache is None else cache
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # the counter, the usage or the subscription moved under another writer
            pause_before_retry(attempt - 1)
        customer = None
        if customer_id is None:
            sub = get_subscription(org_id, subscription_id)
        else:
            found, customer = store.subscription_with_customer(org_id, subscription_id, customer_id)
            if found is None:
                raise NotFound("subscription not found")
            sub = found
        if not sub.active:
            return CloseResult(None, False, notes=["not active"])
        closing = Period(parse_iso(sub.current_period_start), parse_iso(sub.current_period_end))
        if not cancel_now and closing.end > as_of:
            return CloseResult(None, False, notes=["not due"])
        context = InvoiceContext.load(org_id, sub, cache=cache, clock=clock, customer=customer)
        ending = cancel_now or sub.cancel_at_period_end
        aggregates, meters = usage_of(context, cache)
        plan = plan_close(context, closing, ending, aggregates, meters, as_of if cancel_now else None)
        guard = sub.current_period_start
        reason = "subscription_cancel" if ending else "subscription_cycle"
        amounts = context.totals(plan.lines, as_of if cancel_now else closing.end)
        if plan.following is None:
            next_sub = replace(sub, status="canceled", ended_at=iso(as_of if cancel_now else closing.end),
                               canceled_at=sub.canceled_at or iso(as_of))
        else:
            next_sub = replace(sub, cycle=sub.cycle + 1, current_period_start=iso(plan.following.start),
                               current_period_end=iso(plan.following.end), rollover=plan.rollover)
        next_sub = replace(next_sub, pending_lines=[], invoice_count=sub.invoice_count + 1, modified_at=iso(clock()),
                           usage_start=None, credits_used={})
        write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=next_sub,
                             before=sub,
                             customer_billing=billing_state(next_sub, context.product) if plan.following else None,
                             close=plan.to_close, balance=context.balance_change(amounts))

        def build(w: InvoiceWrite, previous: int, reason: str = reason, guard: str = guard,
                  amounts: InvoiceAmounts = amounts, closing: Period = closing,
                  context: InvoiceContext = context) -> None:
            w.previous_number = previous
            w.invoice = context.invoice(reason, guard, amounts, closing, previous + 1)

        outcome = write_numbered(write, build, cache.counters, announce_now=cache.announcements is None)
        if outcome.committed:
            if cache.announcements is not None:
                cache.announcements.extend(write.announcements)
            return CloseResult(write.invoice, True,
                               next_period_end=next_sub.current_period_end if plan.following else None)
        if outcome.already_done:
            return CloseResult(None, False, notes=["closed by another run"])
        # The counter, the usage or the customer's balance moved: read everything again and rebuild the invoice.
    raise Conflict(f"subscription {subscription_id} could not be closed under contention")


def preview(org_id: str, subscription_id: str) -> Invoice:
    """What closing the current period now would bill: the same code as the close, nothing written. A draft,
    issued at the period's end (the response has no id or number yet: billing/schemas.py upcoming_out)."""
    sub = get_subscription(org_id, subscription_id)
    if not sub.active:
        raise ValidationFailed([field_error(["path", "subscription_id"], "the subscription has ended")])
    context = InvoiceContext.load(org_id, sub)
    closing = Period(parse_iso(sub.current_period_start), parse_iso(sub.current_period_end))
    aggregates, meters = usage_of(context)
    plan = plan_close(context, closing, sub.cancel_at_period_end, aggregates, meters)
    invoice = context.invoice("upcoming", "preview", context.totals(plan.lines, closing.end), closing, 0)
    return replace(invoice, status="draft", due_at=iso(closing.end + timedelta(days=context.payment_terms_days)))
