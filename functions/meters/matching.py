"""Which meters an event feeds, and with what. Pure.

Meters are compiled once per request (filters into predicates, aggregations into value getters and adders);
meters with the same filter share one predicate, so each distinct filter is tested once per event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.meters.aggregation import ADDERS, Partial, event_value, value_getter
from functions.meters.filter import Predicate, compile_filter
from functions.store.entities import Meter


@dataclass(frozen=True, slots=True, eq=False)
class CompiledMeter:
    id: str
    func: str
    aggregation: dict[str, Any]
    # What a matching event adds (`value_getter`: `event_value` but the order of `last`), and how it is added
    # to a state (`ADDERS`).
    value: Callable[[dict[str, Any]], Any]
    add: Callable[[Partial, Any], None]
    bit: int  # 1 << the meter's position: an event's set of contributing meters is one int


@dataclass(frozen=True, slots=True)
class MeterGroup:
    """Meters sharing one filter."""

    matches: Predicate
    meters: tuple[CompiledMeter, ...]


def compile_meters(meters: list[Meter]) -> list[MeterGroup]:
    groups: dict[str, list[CompiledMeter]] = {}
    predicates: dict[str, Predicate] = {}
    for position, meter in enumerate(meters):
        text = json.dumps(meter.filter, sort_keys=True, default=str)
        if text not in predicates:
            predicates[text] = compile_filter(meter.filter)
        func = meter.aggregation["func"]
        groups.setdefault(text, []).append(CompiledMeter(
            meter.id, func, meter.aggregation, value_getter(meter.aggregation), ADDERS[func], 1 << position))
    return [MeterGroup(predicates[text], tuple(members)) for text, members in groups.items()]


Contribution = tuple[CompiledMeter, Any]  # a meter and the value an event adds to it (`event_value`)


def contributions(groups: list[MeterGroup], event: dict[str, Any], order_key: str) -> list[Contribution]:
    found = []
    for group in groups:
        if group.matches(event):
            for meter in group.meters:
                value = event_value(meter.aggregation, event, order_key)
                if value is not None:
                    found.append((meter, value))
    return found


def event_state(groups: list[MeterGroup], event: dict[str, Any], order_key: str) -> Partial:
    """What one event adds to the (single) compiled meter, as a state (the backfill and the audit)."""
    state = Partial()
    for meter, value in contributions(groups, event, order_key):
        meter.add(state, value)
    return state
