"""Discounts, tax and proration. Pure, integer cents.

- Discount: a percentage (basis points) or a fixed amount off the invoice subtotal. A percentage applies to the
  signed subtotal: a credit (a downgrade's proration) shrinks by the same percentage its charge did, so a plan
  paid at half price is credited at half price. A fixed amount only reduces a charge, never below zero, and only
  in its own currency (another currency's amount is not cents of this one). Duration `once` applies to the first
  invoice of the subscription, `forever` to all, `repeating` to the invoices issued in the first
  `duration_in_months` months after the subscription started (a cycle's invoice is issued at the cycle's end).
- Tax: every rate of the customer's jurisdictions applies (its country's, then its state's: GST + PST, federal +
  state), each computed and rounded on its own. Inclusive rates are inside the discounted subtotal and share
  it: each is `gross x rate / (1 + sum of the inclusive rates)`, rounded by the one rule; exclusive rates are
  added on top of what is left once the included tax is taken out (the whole subtotal when no rate is
  inclusive). Tax is signed like its amount: a credit gives its tax back. Exempt customers pay none.
- Proration: the unused fraction of the current cycle, to the microsecond, of the difference between two fixed
  prices, rounded once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.billing.money import basis_points, to_cents
from functions.meters.periods import add_months
from functions.store.billing_entities import Discount, InvoiceTax, TaxRate


def discount_applies(discount: Discount | None, subscription_started: datetime, invoice_index: int,
                     issued_at: datetime) -> bool:
    if not discount:
        return False
    duration = discount.duration
    if duration == "forever":
        return True
    if duration == "once":
        return invoice_index == 0
    if duration == "repeating":
        return issued_at < add_months(subscription_started, int(discount.duration_in_months or 0))
    return False


def discount_cents(discount: Discount, subtotal: int, currency: str | None = None) -> int:
    """The amount taken off a signed subtotal (negative for a credit that shrinks)."""
    if discount.type == "percentage":
        return basis_points(subtotal, int(discount.basis_points or 0))  # rounded half away from zero: symmetric
    if subtotal <= 0 or (currency and discount.currency.lower() != currency.lower()):
        return 0
    return min(subtotal, int(discount.amount or 0))


def taxes_of(amount: int, rates: list[TaxRate]) -> list[InvoiceTax]:
    """Each rate with its tax in a signed amount, inclusive rates first (the rule above): the invoice's `taxes`
    (billing/schemas.py InvoiceTax)."""
    if amount == 0:
        return []
    inclusive = [r for r in rates if r.inclusive]
    shared = 10_000 + sum(r.basis_points for r in inclusive)
    taxes = [_with_amount(r, to_cents(Decimal(amount) * r.basis_points / shared)) for r in inclusive]
    net = amount - sum(t.amount for t in taxes)
    taxes += [_with_amount(r, basis_points(net, r.basis_points)) for r in rates if not r.inclusive]
    return taxes


def _with_amount(rate: TaxRate, amount: int) -> InvoiceTax:
    return InvoiceTax(id=rate.id, name=rate.name, basis_points=rate.basis_points, inclusive=rate.inclusive,
                      country=rate.country, state=rate.state, amount=amount)


def find_tax_rates(rates: list[TaxRate], address: dict[str, Any] | None, exempt: bool) -> list[TaxRate]:
    """The rates of the customer's jurisdictions, stacked: its country's (no state), then its state's."""
    if exempt or not address or not address.get("country"):
        return []
    country, region = address["country"].upper(), (address.get("state") or "").upper()
    live = [r for r in rates if r.country.upper() == country and not r.archived_at]
    national = [r for r in live if not r.state]
    regional = [r for r in live if region and (r.state or "").upper() == region]
    return sorted(national, key=_created) + sorted(regional, key=_created)


def _created(rate: TaxRate) -> str:
    return rate.created_at


def proration_cents(old_amount: int, new_amount: int, period_start: datetime, period_end: datetime,
                    at: datetime) -> int:
    """What the rest of the cycle costs on the new price minus what it was already paid on the old one."""
    total = _microseconds(period_end - period_start)
    remaining = min(total, max(0, _microseconds(period_end - at)))
    return to_cents((Decimal(new_amount) - Decimal(old_amount)) * remaining / total)


def _microseconds(span: timedelta) -> int:
    """A duration exactly (timedelta.total_seconds() is a float)."""
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
