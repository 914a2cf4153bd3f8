"""What a meter, a price and an invoice line mean, in words a customer reads. Pure.

"14,780 tokens used: 4,780 over the 10,000 included, billed at 0.02 USD per 1,000 tokens." Every number goes
through functions/portal/locale.py; per-unit prices stay Decimal cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from functions.billing.money import parse_unit_amount, to_cents
from functions.billing.pricing import tier_breakdown
from functions.portal.locale import DEFAULT, Locale, money, number, unit_money
from functions.store.billing_entities import InvoiceLine, Price


@dataclass(frozen=True)
class Unit:
    one: str
    many: str

    def of(self, quantity: Decimal | int | float) -> str:
        return self.one if Decimal(str(quantity)) == 1 else self.many


def unit_of(meter: dict[str, Any]) -> Unit:
    kind = meter.get("unit") or "scalar"
    if kind == "token":
        return Unit("token", "tokens")
    if kind == "custom" and meter.get("custom_label"):
        label = str(meter["custom_label"])
        return Unit(label, label)
    return Unit("unit", "units")


def _per(cents: Decimal, unit: Unit, currency: str, locale: Locale) -> str:
    """A per-unit price scaled to a readable block: 0.002 cents a token reads "0.02 USD per 1,000 tokens"."""
    block = 1
    while cents * block < 1 and block < 10**12 and cents > 0:
        block *= 10
    if block == 1:
        return f"{unit_money(cents, currency, locale)} per {unit.one}"
    return f"{unit_money(cents * block, currency, locale)} per {number(block, locale)} {unit.many}"


def price_words(price: Price | None, unit: Unit, locale: Locale = DEFAULT) -> str:
    """The price of a metered price in one phrase ("0.02 USD per 1,000 tokens"), or "" for none."""
    if not price:
        return ""
    currency = price.price_currency
    kind = price.amount_type
    if kind == "metered_unit":
        text = _per(parse_unit_amount(price.unit_amount or "0"), unit, currency, locale)
    elif kind == "metered_package":
        size = price.package_size or 1
        text = (f"{money(price.package_amount or 0, currency, locale)} per started package of "
                f"{number(size, locale)} {unit.of(size)}")
    elif kind == "metered_tiers":
        parts = [f"{tier['range']} at {_per(tier['cents'], unit, currency, locale)}"
                 for tier in tier_table(price, locale)]
        label = "graduated tiers" if price.tier_spec["type"] == "graduated" else "volume tiers (every unit at " \
            "the rate of the tier the total reaches)"
        text = f"{label}: " + "; ".join(parts)
    else:
        return ""
    if price.cap_amount is not None:
        text += f", at most {money(price.cap_amount, currency, locale)} per period"
    return text


def tier_table(price: Price, locale: Locale = DEFAULT) -> list[dict[str, Any]]:
    """The tiers of a tiered price: the range of units each covers (bounds are inclusive) and its rate."""
    out, lower = [], 0
    for tier in price.tier_spec["tiers"]:
        bound = tier.get("bound")
        first = number(lower + 1, locale)
        text = f"{first} and above" if bound is None else f"{first} to {number(int(bound), locale)}"
        out.append({"range": text, "cents": parse_unit_amount(tier["unit_amount"]), "bound": bound})
        if bound is not None:
            lower = int(bound)
    return out


def line_detail(line: InvoiceLine, price: Price | None, unit: Unit, currency: str,
                locale: Locale = DEFAULT) -> list[str]:
    """The sentences under an invoice line: usage against credits, then how the amount is made."""
    out: list[str] = []
    if line.kind != "metered":
        return out
    consumed = Decimal(line.consumed_units or 0)
    credited = Decimal(line.credited_units or 0)
    billable = Decimal(line.quantity or 0)
    if credited:
        applied = min(consumed, credited)
        out.append(f"{number(consumed, locale)} {unit.of(consumed)} used, {number(applied, locale)} covered by "
                   f"the {number(credited, locale)} included; {number(billable, locale)} billable.")
    else:
        out.append(f"{number(consumed, locale)} {unit.of(consumed)} used, all billable.")
    if not price:
        return out
    kind = price.amount_type
    if kind == "metered_unit":
        out.append(f"{number(billable, locale)} \u00d7 {price_words(price, unit, locale).split(', at most')[0]}.")
    elif kind == "metered_package":
        size = price.package_size or 1
        packages = -(-billable // size) if billable else Decimal(0)
        out.append(f"{number(packages, locale)} started packages of {number(size, locale)} \u00d7 "
                   f"{money(price.package_amount or 0, currency, locale)}.")
    elif kind == "metered_tiers":
        tiers = tier_table(price, locale)
        for use in tier_breakdown(price.tier_spec, billable):
            out.append(f"Tier {tiers[use.tier]['range']}: {number(use.units, locale)} \u00d7 "
                       f"{unit_money(use.unit_amount, currency, locale)} = "
                       f"{money(to_cents(use.exact), currency, locale)}.")
    if price.cap_amount is not None:
        out.append(f"Capped at {money(price.cap_amount, currency, locale)} per period.")
    return out


def meter_sentence(row: dict[str, Any], unit: Unit, price: Price | None, locale: Locale = DEFAULT) -> str:
    """The meter's state in one sentence: used, included, left or over, and what the excess costs."""
    consumed = Decimal(str(row["consumed_units"]))
    credited = Decimal(str(row["credited_units"]))
    used = f"{number(consumed, locale)} {unit.of(consumed)} used"
    billed = price_words(price, unit, locale)
    if credited > 0 and consumed <= credited:
        left = credited - consumed
        text = (f"{used} of the {number(credited, locale)} included: {number(left, locale)} {unit.of(left)} "
                f"left.")
        if billed:
            text += f" Beyond that, billed at {billed}."
        return text
    if credited > 0:
        over = consumed - credited
        text = f"{used}: {number(over, locale)} {unit.of(over)} over the {number(credited, locale)} included"
    else:
        text = used
    return text + (f", billed at {billed}." if billed else ", not billed.")
