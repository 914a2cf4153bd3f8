"""Which meters an event feeds, and with what. Pure.

Meters are compiled once per request (filters into predicates); each event is then tested against them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.meters.aggregation import Partial, contribution
from functions.meters.filter import compile_filter
from functions.store.entities import Meter


@dataclass(frozen=True)
class CompiledMeter:
    id: str
    aggregation: dict[str, Any]
    matches: Callable[[dict[str, Any]], bool]


def compile_meters(meters: list[Meter]) -> list[CompiledMeter]:
    return [CompiledMeter(m.id, m.aggregation, compile_filter(m.filter)) for m in meters]


def contributions(meters: list[CompiledMeter], event: dict[str, Any], order_key: str) -> list[tuple[str, Partial]]:
    found = []
    for meter in meters:
        if meter.matches(event):
            part = contribution(meter.aggregation, event, order_key)
            if part is not None:
                found.append((meter.id, part))
    return found
