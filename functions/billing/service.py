"""Products, discounts, tax rates, subscriptions and their invoices.

Every invoice is computed by `functions/billing/invoice.py` and written with the subscription change it
belongs to in one transaction (`store.billing.write_invoice`), numbered from the organization's counter in
that same transaction, so numbers have no gaps and no repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.billing.adjustments import discount_applies, find_tax_rate, proration_cents
from functions.billing.invoice import METERED, InvoiceAmounts, Line, fixed_lines, total_invoice, usage_lines
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import Conflict, NotFound, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.common.retry import pause_before_retry
from functions.customer_meters.service import consumed as meter_consumed
from functions.customers import service as customers
from functions.meters.periods import Period, cycle
from functions.store import billing as store
from functions.store import meters as meter_store
from functions.store import organizations as organization_store
from functions.store import usage
from functions.store.billing import ClosingAggregate, InvoiceWrite

if TYPE_CHECKING:  # the request models, validated by the management routes: the portal and the cycle close,
    # which import this module, need none of them, and building them costs their cold start 15-20 ms
    from functions.billing.schemas import DiscountCreate, ProductCreate, SubscriptionCreate, SubscriptionUpdate

INVOICE_NAMESPACE = uuid.UUID("0f3c7e1a-2b4d-4c6e-8f90-a1b2c3d4e5f6")
MAX_ATTEMPTS = 8
PAYMENT_TERMS_DAYS = 14  # when the organization sets none: due two weeks after issue (docs/portal.md)


def invoice_id(subscription_id: str, reason: str, marker: str) -> str:
    """Deterministic: a second run of the same close (or a retried request) writes the same invoice."""
    return str(uuid.uuid5(INVOICE_NAMESPACE, f"{subscription_id}|{reason}|{marker}"))


# Products, discounts, tax rates ------------------------------------------------------------------------------

def create_product(org_id: str, body: ProductCreate) -> dict[str, Any]:
    meters = {m["id"]: m for m in meter_store.list_all(org_id)}
    errors = [
        field_error(["body", "prices", i, "meter_id"], "meter not found")
        for i, p in enumerate(body.prices)
        if getattr(p, "meter_id", None) and p.meter_id not in meters  # type: ignore[union-attr]
    ]
    if errors:
        raise ValidationFailed(errors)
    now = iso(utcnow())
    prices = []
    for price in body.prices:
        data = {"id": new_id(), **price.model_dump(mode="json"), "created_at": now}
        if data.get("meter_id"):
            data["meter_name"] = meters[data["meter_id"]]["name"]
        prices.append(data)
    product = {
        "id": new_id(), "organization_id": org_id, "name": body.name, "description": body.description,
        "recurring_interval": body.recurring_interval, "recurring_interval_count": body.recurring_interval_count,
        "is_recurring": True, "is_archived": False, "prices": prices, "metadata": body.metadata,
        "created_at": now, "modified_at": None,
    }
    store.put_product(org_id, product)
    return product


def get_product(org_id: str, product_id: str) -> dict[str, Any]:
    product = store.get_product(org_id, product_id)
    if product is None:
        raise NotFound("product not found")
    return product


def create_discount(org_id: str, body: DiscountCreate) -> dict[str, Any]:
    discount = {"id": new_id(), "organization_id": org_id, **body.model_dump(), "redemptions_count": 0,
                "created_at": iso(utcnow()), "modified_at": None}
    store.create_discount(org_id, discount)
    return discount


def get_discount(org_id: str, discount_id: str) -> dict[str, Any]:
    discount = store.get_discount(org_id, discount_id)
    if discount is None:
        raise NotFound("discount not found")
    return discount


# Subscriptions -----------------------------------------------------------------------------------------------

def credits_of(product: dict[str, Any], rollover: dict[str, str]) -> dict[str, str]:
    credits: dict[str, str] = {}
    for price in product["prices"]:
        if price["amount_type"] in METERED and (price.get("credited_units") or rollover.get(price["meter_id"])):
            total = Decimal(price.get("credited_units") or 0) + Decimal(rollover.get(price["meter_id"], "0"))
            credits[price["meter_id"]] = str(total)
    return credits


def billing_state(subscription: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
    """What ingest and the customer meters need on the customer item: the cycle and its credits."""
    return {
        "subscription_id": subscription["id"],
        "anchor": subscription["billing_anchor"],
        "interval": product["recurring_interval"],
        "interval_count": product["recurring_interval_count"],
        "cycle": subscription["cycle"],
        "period_start": subscription["current_period_start"],
        "period_end": subscription["current_period_end"],
        "credits": credits_of(product, subscription.get("rollover") or {}),
    }


@dataclass
class InvoiceContext:
    org_id: str
    subscription: dict[str, Any]
    product: dict[str, Any]
    customer: dict[str, Any]
    discount: dict[str, Any] | None
    tax_rates: list[dict[str, Any]]
    seller: dict[str, Any] | None = None  # the organization's details printed on the invoice (issue #15)

    @classmethod
    def load(cls, org_id: str, subscription: dict[str, Any], product: dict[str, Any] | None = None,
             cache: dict[str, Any] | None = None) -> InvoiceContext:
        cache = {} if cache is None else cache
        product = product or cache.get(f"product:{subscription['product_id']}") or get_product(
            org_id, subscription["product_id"])
        cache[f"product:{product['id']}"] = product
        discount = None
        if subscription.get("discount_id"):
            discount = cache.get(f"discount:{subscription['discount_id']}") or store.get_discount(
                org_id, subscription["discount_id"])
            cache[f"discount:{subscription['discount_id']}"] = discount
        rates = cache.get(f"tax:{org_id}")
        if rates is None:
            rates = cache[f"tax:{org_id}"] = store.list_tax_rates(org_id)
        if f"seller:{org_id}" not in cache:
            cache[f"seller:{org_id}"] = seller_of(org_id)
        return cls(org_id, subscription, product, customers.get(org_id, subscription["customer_id"]), discount,
                   rates, cache[f"seller:{org_id}"])

    def tax_rate(self) -> dict[str, Any] | None:
        return find_tax_rate(self.tax_rates, self.customer.get("billing_address"),
                             bool(self.customer.get("tax_exempt")))

    def totals(self, lines: list[Line], issued_at: datetime) -> InvoiceAmounts:
        sub = self.subscription
        applies = discount_applies(self.discount, parse_iso(sub["started_at"]), int(sub.get("invoice_count", 0)),
                                   issued_at)
        return total_invoice(lines, self.discount if applies else None, self.tax_rate())

    def invoice(self, reason: str, marker: str, amounts: InvoiceAmounts, period: Period, number: int
                ) -> dict[str, Any]:
        sub = self.subscription
        currency = next((p.get("price_currency") for p in self.product["prices"]), "usd")
        rate = self.tax_rate() if amounts.tax_amount else None
        issued = utcnow()
        terms = int((self.seller or {}).get("payment_terms_days", PAYMENT_TERMS_DAYS))
        return {
            "id": invoice_id(sub["id"], reason, marker), "number": number, "organization_id": self.org_id,
            "customer_id": sub["customer_id"], "subscription_id": sub["id"], "product_id": self.product["id"],
            "status": "open", "billing_reason": reason, "currency": currency,
            "period_start": iso(period.start), "period_end": iso(period.end),
            "discount_id": sub.get("discount_id") if amounts.discount_amount else None,
            "customer_name": self.customer.get("billing_name") or self.customer.get("name"),
            "customer_email": self.customer.get("email"), "customer_tax_id": self.customer.get("tax_id"),
            "billing_address": self.customer.get("billing_address"),
            **amounts.as_dict(), "created_at": iso(issued), "modified_at": None,
            # Added for the portal (issue #15); issue #13 reworks billing: the seller as it was when issued,
            # the rate behind tax_amount, and the due date from the organization's payment terms.
            "seller": self.seller,
            "tax_rate": {k: rate.get(k) for k in ("id", "name", "basis_points", "inclusive", "country", "state")}
            if rate else None,
            "due_at": iso(issued + timedelta(days=terms)),
        }


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


def _period(sub: dict[str, Any], product: dict[str, Any], n: int) -> Period:
    return cycle(parse_iso(sub["billing_anchor"]), product["recurring_interval"],
                 int(product["recurring_interval_count"]), n)


def _commit(write: InvoiceWrite, build: Callable[[InvoiceWrite, int], None]) -> dict[str, Any] | None:
    """Write with the next invoice number; re-read the counter and retry while another invoice took it."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # the counter, the usage or the subscription moved under another writer
            pause_before_retry(attempt - 1)
        previous = store.invoice_counter(write.org_id)
        build(write, previous)
        outcome = store.write_invoice(write)
        if outcome.committed:
            return write.invoice
        if outcome.already_done:
            return None
    raise Conflict("the invoice could not be written under contention; retry (it is idempotent)")


def create_subscription(org_id: str, body: SubscriptionCreate) -> dict[str, Any]:
    customer = (customers.get(org_id, body.customer_id) if body.customer_id
                else customers.get_by_external_id(org_id, body.external_customer_id))  # type: ignore[arg-type]
    if customer.get("billing"):
        raise ValidationFailed([field_error(["body", "customer_id"], "the customer already has an active "
                                            "subscription")])
    product = get_product(org_id, body.product_id)
    discount = None
    if body.discount_code:
        discount = store.discount_by_code(org_id, body.discount_code)
        if discount is None:
            raise ValidationFailed([field_error(["body", "discount_code"], "discount not found")])
    elif body.discount_id:
        discount = store.get_discount(org_id, body.discount_id)
        if discount is None:
            raise ValidationFailed([field_error(["body", "discount_id"], "discount not found")])
    now = utcnow()
    period = cycle(now, product["recurring_interval"], int(product["recurring_interval_count"]), 0)
    sub = {
        "id": new_id(), "organization_id": org_id, "customer_id": customer["id"], "product_id": product["id"],
        "status": "active", "billing_anchor": iso(now), "cycle": 0, "started_at": iso(now),
        "current_period_start": iso(period.start), "current_period_end": iso(period.end),
        "cancel_at_period_end": False, "canceled_at": None, "ended_at": None,
        "discount_id": discount["id"] if discount else None, "invoice_count": 0, "pending_lines": [],
        "rollover": {}, "created_at": iso(now), "modified_at": None,
    }
    context = InvoiceContext(org_id, sub, product, customer, discount, store.list_tax_rates(org_id), seller_of(org_id))
    lines = fixed_lines(product["prices"], (sub["current_period_start"], sub["current_period_end"]), product["name"])
    billed = any(line.amount for line in lines)
    write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=sub, subscription_guard=None,
                         customer_billing=billing_state(sub, product),
                         discount_redemption=discount["id"] if discount else None)

    amounts = context.totals(lines, period.start)
    if billed:
        sub["invoice_count"] = 1

    def build(w: InvoiceWrite, previous: int) -> None:
        if billed:  # fixed prices are billed in advance: the first cycle's fee now
            w.invoice = context.invoice("subscription_create", "0", amounts, period, previous + 1)
        w.previous_number = previous

    _commit(write, build)
    return sub


def get_subscription(org_id: str, subscription_id: str) -> dict[str, Any]:
    sub = store.get_subscription(org_id, subscription_id)
    if sub is None:
        raise NotFound("subscription not found")
    return sub


def update_subscription(org_id: str, subscription_id: str, body: SubscriptionUpdate) -> dict[str, Any]:
    sub = get_subscription(org_id, subscription_id)
    if sub["status"] != "active":
        raise ValidationFailed([field_error(["body"], "the subscription has ended")])
    if body.product_id and body.product_id != sub["product_id"]:
        return change_product(org_id, sub, get_product(org_id, body.product_id), body.proration_behavior)
    if body.cancel_at_period_end is not None:
        guard = sub["current_period_start"]
        sub.update(cancel_at_period_end=body.cancel_at_period_end,
                   canceled_at=iso(utcnow()) if body.cancel_at_period_end else None, modified_at=iso(utcnow()))
        product = get_product(org_id, sub["product_id"])
        write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=sub,
                             subscription_guard=guard, customer_billing=billing_state(sub, product))
        if not store.write_invoice(write).committed:
            raise Conflict("the subscription changed meanwhile; retry")
    return sub


def _fixed_amount(product: dict[str, Any]) -> int:
    return sum(int(p.get("price_amount") or 0) for p in product["prices"] if p["amount_type"] == "fixed")


def change_product(org_id: str, sub: dict[str, Any], new: dict[str, Any], behavior: str) -> dict[str, Any]:
    """Same cycle, new prices. The fixed-price difference for the rest of the cycle is charged now
    (`invoice`) or carried to the next invoice (`prorate`). Metered usage of the cycle is billed at its close
    on the prices in force then (the new product's)."""
    old = get_product(org_id, sub["product_id"])
    if (old["recurring_interval"], old["recurring_interval_count"]) != (
            new["recurring_interval"], new["recurring_interval_count"]):
        raise ValidationFailed([field_error(["body", "product_id"], "the new product must recur on the same "
                                            "interval")])
    now = utcnow()
    period = Period(parse_iso(sub["current_period_start"]), parse_iso(sub["current_period_end"]))
    amount = proration_cents(_fixed_amount(old), _fixed_amount(new), period.start, period.end, now)
    line = Line(kind="proration", description=f"{old['name']} -> {new['name']} for the rest of the period",
                amount=amount, quantity="1", period_start=iso(now), period_end=sub["current_period_end"])
    guard = sub["current_period_start"]
    sub.update(product_id=new["id"], modified_at=iso(now))
    context = InvoiceContext.load(org_id, sub, new)
    write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=sub, subscription_guard=guard,
                         customer_billing=billing_state(sub, new))
    if behavior == "prorate" or amount == 0:
        if amount:
            sub["pending_lines"] = [*(sub.get("pending_lines") or []), line.__dict__]
        if not store.write_invoice(write).committed:
            raise Conflict("the subscription changed meanwhile; retry")
        return sub

    amounts = context.totals([line], now)
    sub["invoice_count"] = int(sub.get("invoice_count", 0)) + 1

    def build(w: InvoiceWrite, previous: int) -> None:
        w.invoice = context.invoice("subscription_update", iso(now), amounts, period, previous + 1)
        w.previous_number = previous

    if _commit(write, build) is None:
        raise Conflict("the subscription changed meanwhile; retry")
    return sub


# The close: one subscription's period ---------------------------------------------------------------------

@dataclass
class CloseResult:
    invoice: dict[str, Any] | None
    written: bool
    notes: list[str] = field(default_factory=list)
    next_period_end: str | None = None  # after a close that renewed: when the new period ends


def plan_close(context: InvoiceContext, closing: Period, ending: bool, final_at: datetime | None = None,
               cache: dict[str, Any] | None = None
               ) -> tuple[list[Line], dict[str, str], list[ClosingAggregate], Period | None]:
    """Lines of the invoice that closes `closing`: metered usage (arrears), pending prorations, and unless the
    subscription ends, the next cycle's fixed fee (advance). Also the new rollover and what to close."""
    sub, product = context.subscription, context.product
    cache = {} if cache is None else cache
    meters: dict[str, Any] = {}
    if any(p["amount_type"] in METERED for p in product["prices"]):
        meters = cache.get(f"meters:{context.org_id}") or {m["id"]: m for m in meter_store.list_all(context.org_id)}
        cache[f"meters:{context.org_id}"] = meters
    aggregates = {a.meter_id: a for a in usage.customer_aggregates(context.org_id, sub["customer_id"])
                  if a.period_key == iso(closing.start)}
    consumed: dict[str, Decimal] = {}
    closing_list: list[ClosingAggregate] = []
    for price in product["prices"]:
        if price["amount_type"] not in METERED or price["meter_id"] in consumed:
            continue
        meter_id = price["meter_id"]
        agg = aggregates.get(meter_id)
        consumed[meter_id] = meter_consumed(meters[meter_id], agg) if agg and meter_id in meters else Decimal(0)
        closing_list.append(ClosingAggregate(sub["customer_id"], meter_id, iso(closing.start), iso(closing.end),
                                             agg.version if agg else None))
    credits = {m: Decimal(v) for m, v in credits_of(product, sub.get("rollover") or {}).items()}
    period_text = (iso(closing.start), iso(final_at or closing.end))
    lines = usage_lines(product["prices"], consumed, credits, period_text)
    lines += [Line(**p) for p in sub.get("pending_lines") or []]
    rollover = {}
    for price in product["prices"]:
        if price["amount_type"] in METERED and price.get("rollover"):
            left = credits.get(price["meter_id"], Decimal(0)) - consumed.get(price["meter_id"], Decimal(0))
            if left > 0:
                rollover[price["meter_id"]] = str(left)
    following = None
    if not ending:
        following = _period(sub, product, int(sub["cycle"]) + 1)
        lines += fixed_lines(product["prices"], (iso(following.start), iso(following.end)), product["name"])
    return lines, rollover, closing_list, following


def close_subscription(org_id: str, subscription_id: str, as_of: datetime, cache: dict[str, Any] | None = None,
                       cancel_now: bool = False) -> CloseResult:
    """Close the subscription's current period if it ended before `as_of` (or now, for an immediate cancel)."""
    cache = {} if cache is None else cache
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # the counter, the usage or the subscription moved under another writer
            pause_before_retry(attempt - 1)
        sub = get_subscription(org_id, subscription_id)
        if sub["status"] != "active":
            return CloseResult(None, False, notes=["not active"])
        closing = Period(parse_iso(sub["current_period_start"]), parse_iso(sub["current_period_end"]))
        if not cancel_now and closing.end > as_of:
            return CloseResult(None, False, notes=["not due"])
        context = InvoiceContext.load(org_id, sub, cache=cache)
        ending = cancel_now or bool(sub.get("cancel_at_period_end"))
        lines, rollover, to_close, following = plan_close(context, closing, ending, as_of if cancel_now else None,
                                                          cache)
        guard = sub["current_period_start"]
        reason = "subscription_cancel" if ending else "subscription_cycle"
        count = int(sub.get("invoice_count", 0))
        amounts = context.totals(lines, as_of if cancel_now else closing.end)
        next_sub = dict(sub)
        if following is None:
            next_sub.update(status="canceled", ended_at=iso(as_of if cancel_now else closing.end),
                            canceled_at=sub.get("canceled_at") or iso(as_of))
        else:
            next_sub.update(cycle=int(sub["cycle"]) + 1, current_period_start=iso(following.start),
                            current_period_end=iso(following.end), rollover=rollover)
        next_sub.update(pending_lines=[], invoice_count=count + 1, modified_at=iso(utcnow()))
        write = InvoiceWrite(org_id=org_id, invoice=None, previous_number=0, subscription=next_sub,
                             subscription_guard=guard,
                             customer_billing=billing_state(next_sub, context.product) if following else None,
                             close=to_close)

        # The run remembers the organization's counter; a stale value only costs a retry (the write is guarded).
        counter_key = f"counter:{org_id}"
        if counter_key not in cache:
            cache[counter_key] = store.invoice_counter(org_id)
        write.previous_number = cache[counter_key]
        write.invoice = context.invoice(reason, guard, amounts, closing, write.previous_number + 1)
        outcome = store.write_invoice(write)
        if outcome.committed:
            cache[counter_key] = write.previous_number + 1
            return CloseResult(write.invoice, True,
                               next_period_end=next_sub["current_period_end"] if following else None)
        cache.pop(counter_key, None)
        if outcome.already_done:
            return CloseResult(None, False, notes=["closed by another run"])
        # The counter or the usage moved: read everything again and rebuild the invoice.
    raise Conflict(f"subscription {subscription_id} could not be closed under contention")


def preview(org_id: str, subscription_id: str) -> dict[str, Any]:
    """What closing the current period now would bill: the same code as the close, nothing written."""
    sub = get_subscription(org_id, subscription_id)
    if sub["status"] != "active":
        raise ValidationFailed([field_error(["path", "subscription_id"], "the subscription has ended")])
    context = InvoiceContext.load(org_id, sub)
    closing = Period(parse_iso(sub["current_period_start"]), parse_iso(sub["current_period_end"]))
    lines, _, _, _ = plan_close(context, closing, bool(sub.get("cancel_at_period_end")))
    invoice = context.invoice("upcoming", "preview", context.totals(lines, closing.end), closing, 0)
    terms = int((context.seller or {}).get("payment_terms_days", PAYMENT_TERMS_DAYS))
    invoice.update(id=None, number=None, status="draft", issues_at=iso(closing.end),
                   due_at=iso(closing.end + timedelta(days=terms)))
    return invoice
