"""An invoice from a product's prices, a period's usage, credits, prorations, discount and tax. Pure.

The same function writes the invoice at the cycle close and previews the upcoming one, so the two never
disagree. Fixed prices are billed in advance (for the period starting), metered prices in arrears (for the
period ending).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from functions.billing.adjustments import discount_cents, taxes_of
from functions.billing.balance import applied_balance
from functions.billing.pricing import PricedUsage, billable_units, priced_usage
from functions.store.billing_entities import Discount, InvoiceLine, InvoiceTax, Price, TaxRate

Line = InvoiceLine  # the rules build invoice lines; the store keeps them on invoices (and pending on subscriptions)


@dataclass
class InvoiceAmounts:
    lines: list[Line] = field(default_factory=list)
    subtotal: int = 0
    discount_amount: int = 0
    tax_amount: int = 0  # the sum of `taxes`
    total: int = 0
    tax_inclusive: bool = False
    applied_balance: int = 0  # what the customer's credit balance did to the total (functions/billing/balance.py)
    amount_due: int = 0
    taxes: list[InvoiceTax] = field(default_factory=list)  # each rate applied, with its amount


def usage_lines(prices: list[Price], consumed: dict[str, Decimal], credited: dict[str, Decimal],
                period: tuple[str, str]) -> list[Line]:
    lines = []
    for price in prices:
        if not price.is_metered or price.meter_id is None:
            continue
        meter_id = price.meter_id
        used = consumed.get(meter_id, Decimal(0))
        credit = credited.get(meter_id, Decimal(0))
        units = billable_units(used, credit)
        priced = priced_usage(price, units)
        lines.append(Line(
            kind="metered", description=f"Usage of {price.meter_name or meter_id}",
            amount=priced.cents, quantity=str(units), meter_id=meter_id, price_id=price.id,
            period_start=period[0], period_end=period[1], consumed_units=str(used), credited_units=str(credit),
            **how_priced(price, priced),
        ))
    return lines


def how_priced(price: Price, priced: PricedUsage) -> dict[str, Any]:
    """The fields of a metered line that show how its amount is made (InvoiceLine's docstring)."""
    if price.amount_type == "metered_unit":
        shown: dict[str, Any] = {"unit_amount": price.unit_amount}
    elif price.amount_type == "metered_package":
        shown = {"unit_amount": str(price.package_amount), "package_size": price.package_size}
    else:
        shown = {"tiers": [{"first_unit": use.first_unit, "last_unit": use.last_unit, "units": str(use.units),
                            "unit_amount": str(use.unit_amount), "amount": str(use.exact)} for use in priced.tiers]}
    return {**shown, "cap_amount": price.cap_amount}


def fixed_lines(prices: list[Price], period: tuple[str, str], product_name: str) -> list[Line]:
    return [
        Line(kind="fixed", description=f"{product_name} ({period[0][:10]} to {period[1][:10]})",
             amount=price.price_amount or 0, quantity="1", unit_amount=str(price.price_amount or 0), price_id=price.id,
             period_start=period[0], period_end=period[1])
        for price in prices
        if price.amount_type in ("fixed", "free")
    ]


def total_invoice(lines: list[Line], discount: Discount | None, tax_rates: list[TaxRate],
                  currency: str | None = None, credit: int = 0) -> InvoiceAmounts:
    """`tax_rates`: the rates that apply, stacked (adjustments.find_tax_rates); `credit`: the customer's credit
    balance in the invoice's currency, applied after tax."""
    subtotal = sum(line.amount for line in lines)
    off = discount_cents(discount, subtotal, currency) if discount else 0
    taxable = subtotal - off
    taxes = taxes_of(taxable, tax_rates)
    total = taxable + sum(t.amount for t in taxes if not t.inclusive)
    applied = applied_balance(total, credit)
    return InvoiceAmounts(lines=lines, subtotal=subtotal, discount_amount=off,
                          tax_amount=sum(t.amount for t in taxes), total=total,
                          tax_inclusive=bool(taxes) and all(t.inclusive for t in taxes),
                          applied_balance=applied, amount_due=total + applied, taxes=taxes)

