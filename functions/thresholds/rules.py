"""Usage thresholds: when a customer meter has reached one. Pure.

Meterbill never blocks usage: a threshold only produces a signal (`customer_meter.threshold_crossed`).
- `units`: consumed >= value
- `credits_percent`: consumed >= value % of the credited units (only when credits exist)
- `balance_below_zero`: credited - consumed < 0
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

TYPES = ("units", "credits_percent", "balance_below_zero")


def reached(threshold: dict[str, Any], consumed: Decimal, credited: Decimal) -> bool:
    kind = threshold["type"]
    if kind == "units":
        return consumed >= Decimal(str(threshold["value"]))
    if kind == "credits_percent":
        return credited > 0 and consumed * 100 >= credited * Decimal(str(threshold["value"]))
    if kind == "balance_below_zero":
        return credited - consumed < 0
    return False
