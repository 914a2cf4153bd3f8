"""Pricing rules: usage -> exact amount in cents (Decimal) for each kind of metered price. Pure.

Tiers are listed in ascending order; each tier's `bound` is the last unit it covers (inclusive), and the
last tier has no bound. Graduated: each unit is charged at the rate of the tier it falls in. Volume: every
unit is charged at the rate of the tier the total falls in. Package: `package_amount` per started package
of `package_size` units. A cap (`cap_amount`, cents) limits the line after rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from functions.billing.money import parse_unit_amount, to_cents
from functions.store.billing_entities import Price


def billable_units(consumed: Decimal, credited: Decimal) -> Decimal:
    return max(Decimal(0), consumed - credited)


def unit_amount(units: Decimal, rate: Decimal) -> Decimal:
    return units * rate


@dataclass(frozen=True, slots=True)
class TierUse:
    """The billable units that fall in one tier of a tiered price, at that tier's rate (cents per unit)."""

    tier: int  # its index in the price's tiers
    first_unit: int  # the tier's range of units (inclusive; `last_unit` None: and above)
    last_unit: int | None
    units: Decimal
    unit_amount: Decimal

    @property
    def exact(self) -> Decimal:
        return self.units * self.unit_amount


def _ranges(tiers: list[dict[str, Any]]) -> list[tuple[int, int | None, Decimal]]:
    out, lower = [], 0
    for tier in tiers:
        bound = tier.get("bound")
        out.append((lower + 1, None if bound is None else int(bound), parse_unit_amount(tier["unit_amount"])))
        if bound is not None:
            lower = int(bound)
    return out


def graduated_uses(units: Decimal, tiers: list[dict[str, Any]]) -> list[TierUse]:
    """Each unit at the rate of the tier it falls in."""
    uses = []
    for index, (first, last, rate) in enumerate(_ranges(tiers)):
        upper = units if last is None else min(units, Decimal(last))
        if upper > first - 1:
            uses.append(TierUse(index, first, last, upper - (first - 1), rate))
        if last is None or units <= last:
            break
    return uses


def volume_uses(units: Decimal, tiers: list[dict[str, Any]]) -> list[TierUse]:
    """Every unit at the rate of the tier the total falls in."""
    ranges = _ranges(tiers)
    for index, (first, last, rate) in enumerate(ranges):
        if last is None or units <= last:
            return [TierUse(index, first, last, units, rate)]
    first, last, rate = ranges[-1]
    return [TierUse(len(ranges) - 1, first, last, units, rate)]


def tier_breakdown(tiers: dict[str, Any], units: Decimal) -> list[TierUse]:
    """How `units` billable units fall into a tiered price's tiers (the Tiers request shape). The line's amount
    is the sum of the uses, rounded once: the uses themselves are exact."""
    return (graduated_uses if tiers["type"] == "graduated" else volume_uses)(units, tiers["tiers"])


def graduated_amount(units: Decimal, tiers: list[dict[str, Any]]) -> Decimal:
    return sum((use.exact for use in graduated_uses(units, tiers)), Decimal(0))


def volume_amount(units: Decimal, tiers: list[dict[str, Any]]) -> Decimal:
    return sum((use.exact for use in volume_uses(units, tiers)), Decimal(0))


def package_amount(units: Decimal, package_size: int, amount_per_package: int) -> Decimal:
    packages = (units / package_size).to_integral_value(rounding=ROUND_CEILING)  # started packages
    return packages * amount_per_package


@dataclass(frozen=True, slots=True)
class PricedUsage:
    cents: int  # the line's amount: rounded once, then capped
    tiers: list[TierUse]  # how the units fell into a tiered price's tiers (empty for the other kinds)


def priced_usage(price: Price, units: Decimal) -> PricedUsage:
    """One metered price line for `units` billable units."""
    kind, uses = price.amount_type, []
    if kind == "metered_unit":
        exact = unit_amount(units, parse_unit_amount(price.unit_amount or "0"))
    elif kind == "metered_tiers":
        uses = tier_breakdown(price.tier_spec, units)
        exact = sum((use.exact for use in uses), Decimal(0))
    elif kind == "metered_package":
        exact = package_amount(units, int(price.package_size or 1), int(price.package_amount or 0))
    else:
        raise ValueError(f"{kind} is not a metered price")
    cents = to_cents(exact)
    return PricedUsage(min(cents, price.cap_amount) if price.cap_amount is not None else cents, uses)


def metered_line_cents(price: Price, units: Decimal) -> int:
    """The whole-cent amount of one metered price line for `units` billable units (rounded once, then capped)."""
    return priced_usage(price, units).cents
