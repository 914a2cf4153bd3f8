"""A straightforward invoice oracle, in Fractions (independent of the Decimal code it checks)."""

from __future__ import annotations

import math
from fractions import Fraction


def round_half_up(value: Fraction) -> int:
    sign = -1 if value < 0 else 1
    return sign * math.floor(abs(value) + Fraction(1, 2))


def rate_for_unit(tiers: list[dict], n: int) -> Fraction:
    for tier in tiers:
        if tier.get("bound") is None or n <= tier["bound"]:
            return Fraction(tier["unit_amount"])
    raise AssertionError


def price_cents(price: dict, units: int) -> int:
    kind = price["amount_type"]
    if kind == "metered_unit":
        exact = Fraction(price["unit_amount"]) * units
    elif kind == "metered_package":
        exact = Fraction(math.ceil(Fraction(units, price["package_size"])) * price["package_amount"])
    elif price["tiers"]["type"] == "graduated":
        exact = sum((rate_for_unit(price["tiers"]["tiers"], n) for n in range(1, units + 1)), Fraction(0))
    else:
        exact = rate_for_unit(price["tiers"]["tiers"], units) * units if units else Fraction(0)
    cents = round_half_up(exact)
    return min(cents, price["cap_amount"]) if price.get("cap_amount") is not None else cents


def invoice_total(metered: list[tuple[dict, int, int]], fixed: int, discount: dict | None, tax: dict | None,
                  credit: int = 0, balance: int = 0) -> dict[str, int]:
    """metered: (price, consumed units, credited units); credit: a negative proration line (or 0); balance: the
    customer's credit balance in the invoice's currency (spent after tax, never below an amount due of 0)."""
    subtotal = fixed + credit + sum(price_cents(p, max(0, used - credited)) for p, used, credited in metered)
    off = 0
    if discount and discount["type"] == "percentage":
        off = round_half_up(Fraction(subtotal * discount["basis_points"], 10_000))  # a credit shrinks too
    elif discount and subtotal > 0:
        off = min(discount["amount"], subtotal)
    taxable = subtotal - off
    tax_amount = 0
    if tax:  # signed: a credit gives its tax back
        if tax["inclusive"]:
            tax_amount = round_half_up(Fraction(taxable * tax["basis_points"], 10_000 + tax["basis_points"]))
        else:
            tax_amount = round_half_up(Fraction(taxable * tax["basis_points"], 10_000))
    total = taxable if tax and tax["inclusive"] else taxable + tax_amount
    amount_due = max(0, total - balance)
    return {"subtotal": subtotal, "discount_amount": off, "tax_amount": tax_amount, "total": total,
            "applied_balance": amount_due - total, "amount_due": amount_due}
