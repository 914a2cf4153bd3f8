"""Money: integer minor units (cents) and Decimal, never float. One rounding rule, applied once per line.

The rule: a line's exact Decimal amount is rounded to a whole cent with ROUND_HALF_UP (half a cent rounds
away from zero), the way invoices are rounded by Stripe and most tax authorities. Everything after that
(discounts, tax, totals) works on integers, each computed amount rounded with the same rule.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal(1)


def to_cents(amount: Decimal) -> int:
    """Exact cents (a Decimal in cents) to a whole number of cents."""
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def parse_unit_amount(text: str | int | Decimal) -> Decimal:
    """Per-unit amounts are cents as decimal strings with up to 12 decimal places ("0.000001")."""
    try:
        value = Decimal(str(text))
    except InvalidOperation as exc:
        raise ValueError("unit_amount must be a decimal number") from exc
    if not value.is_finite() or value < 0 or value > 10**12:
        raise ValueError("unit_amount must be a number from 0 to 1,000,000,000,000 (cents)")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -12:
        raise ValueError("unit_amount has more than 12 decimal places")
    return value


def basis_points(amount_cents: int, points: int) -> int:
    """`points` basis points (1/100 of a percent) of an amount, rounded once."""
    return to_cents(Decimal(amount_cents) * points / 10_000)
