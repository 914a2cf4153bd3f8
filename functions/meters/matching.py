"""Which meters an event feeds, and with what. Pure."""

from __future__ import annotations

from typing import Any

from functions.meters.aggregation import Partial, contribution
from functions.meters.filter import matches


def contributions(
    meters: list[dict[str, Any]], event: dict[str, Any], order_key: str) -> list[tuple[str, Partial]]:
    found = []
    for meter in meters:
        if matches(meter["filter"], event):
            part = contribution(meter["aggregation"], event, order_key)
            if part is not None:
                found.append((meter["id"], part))
    return found
