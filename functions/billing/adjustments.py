"""Discounts, tax and proration. Pure, integer cents.

- Discount: a percentage (basis points) or a fixed amount off the invoice subtotal. A percentage applies to the
  signed subtotal: a credit (a downgrade's proration) shrinks by the same percentage its charge did, so a plan
  paid at half price is credited at half price. A fixed amount only reduces a charge, never below zero, and only
  in its own currency (another currency's amount is not cents of this one). Duration `once` applies to the first
  invoice of the subscription, `forever` to all, `repeating` to the invoices issued in the first
  `duration_in_months` months after the subscription started (a cycle's invoice is issued at the cycle's end).
- Tax: exclusive rates are added on top of the discounted subtotal; inclusive rates are inside it, and the tax
  is the computed amount `gross x rate / (1 + rate)` rounded by the one rule (the net is the remainder). Tax is
  signed like its amount: a credit gives its tax back. Exempt customers pay none.
- Proration: the unused fraction of the current cycle, to the microsecond, of the difference between two fixed
  prices, rounded once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.billing.money import basis_points, to_cents
from functions.meters.periods import add_months


def discount_applies(discount: dict[str, Any] | None, subscription_started: datetime, invoice_index: int,
                     issued_at: datetime) -> bool:
    if not discount:
        return False
    duration = discount["duration"]
    if duration == "forever":
        return True
    if duration == "once":
        return invoice_index == 0
    if duration == "repeating":
        return issued_at < add_months(subscription_started, int(discount["duration_in_months"]))
    return False


def discount_cents(discount: dict[str, Any], subtotal: int, currency: str | None = None) -> int:
    """The amount taken off a signed subtotal (negative for a credit that shrinks)."""
    if discount["type"] == "percentage":
        return basis_points(subtotal, int(discount["basis_points"]))  # rounded half away from zero: symmetric
    if subtotal <= 0 or (currency and discount.get("currency", currency).lower() != currency.lower()):
        return 0
    return min(subtotal, int(discount["amount"]))


def tax_cents(amount: int, rate: dict[str, Any] | None) -> int:
    """The tax in a signed amount: exclusive on top of it, inclusive inside it."""
    if not rate or amount == 0:
        return 0
    points = int(rate["basis_points"])
    if rate.get("inclusive"):
        return to_cents(Decimal(amount) * points / (10_000 + points))
    return basis_points(amount, points)


def find_tax_rate(rates: list[dict[str, Any]], address: dict[str, Any] | None, exempt: bool) -> dict | None:
    """The most specific rate for the customer's address: country and region first, then country alone."""
    if exempt or not address or not address.get("country"):
        return None
    country, region = address["country"].upper(), (address.get("state") or "").upper()
    candidates = [r for r in rates if r["country"].upper() == country and not r.get("archived_at")]
    for rate in candidates:
        if region and (rate.get("state") or "").upper() == region:
            return rate
    return next((r for r in candidates if not r.get("state")), None)


def proration_cents(old_amount: int, new_amount: int, period_start: datetime, period_end: datetime,
                    at: datetime) -> int:
    """What the rest of the cycle costs on the new price minus what it was already paid on the old one."""
    total = _microseconds(period_end - period_start)
    remaining = min(total, max(0, _microseconds(period_end - at)))
    return to_cents((Decimal(new_amount) - Decimal(old_amount)) * remaining / total)


def _microseconds(span: timedelta) -> int:
    """A duration exactly (timedelta.total_seconds() is a float)."""
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
