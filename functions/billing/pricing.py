"""Pricing rules: usage -> exact amount in cents (Decimal) for each kind of metered price. Pure.

Tiers are listed in ascending order; each tier's `bound` is the last unit it covers (inclusive), and the
last tier has no bound. Graduated: each unit is charged at the rate of the tier it falls in. Volume: every
unit is charged at the rate of the tier the total falls in. Package: `package_amount` per started package
of `package_size` units. A cap (`cap_amount`, cents) limits the line after rounding.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from functions.billing.money import parse_unit_amount, to_cents
from functions.store.entities import Price


def billable_units(consumed: Decimal, credited: Decimal) -> Decimal:
    return max(Decimal(0), consumed - credited)


def unit_amount(units: Decimal, rate: Decimal) -> Decimal:
    return units * rate


def graduated_amount(units: Decimal, tiers: list[dict[str, Any]]) -> Decimal:
    total, lower = Decimal(0), Decimal(0)
    for tier in tiers:
        bound = tier.get("bound")
        upper = units if bound is None else min(units, Decimal(bound))
        if upper > lower:
            total += (upper - lower) * parse_unit_amount(tier["unit_amount"])
        if bound is None or units <= Decimal(bound):
            break
        lower = Decimal(bound)
    return total


def volume_amount(units: Decimal, tiers: list[dict[str, Any]]) -> Decimal:
    for tier in tiers:
        bound = tier.get("bound")
        if bound is None or units <= Decimal(bound):
            return units * parse_unit_amount(tier["unit_amount"])
    return units * parse_unit_amount(tiers[-1]["unit_amount"])


def package_amount(units: Decimal, package_size: int, amount_per_package: int) -> Decimal:
    packages = (units / package_size).to_integral_value(rounding=ROUND_CEILING)  # started packages
    return packages * amount_per_package


def metered_line_cents(price: Price, units: Decimal) -> int:
    """The whole-cent amount of one metered price line for `units` billable units (rounded once, then capped)."""
    kind = price.amount_type
    if kind == "metered_unit":
        exact = unit_amount(units, parse_unit_amount(price.unit_amount or "0"))
    elif kind == "metered_tiers" and price.tiers:
        tiers = price.tiers
        exact = (graduated_amount if tiers["type"] == "graduated" else volume_amount)(units, tiers["tiers"])
    elif kind == "metered_package":
        exact = package_amount(units, int(price.package_size or 1), int(price.package_amount or 0))
    else:
        raise ValueError(f"{kind} is not a metered price")
    cents = to_cents(exact)
    return min(cents, price.cap_amount) if price.cap_amount is not None else cents
