"""Which meters an event feeds, and with what. Pure.

Meters are compiled once per request (filters into predicates, aggregations into value getters and adders);
meters with the same filter share one predicate, so each distinct filter is tested once per event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from functions.meters.aggregation import ADDERS, Partial, value_converter, value_getter
from functions.meters.filter import MISSING, Predicate, compile_filter, metadata_key, reads_timestamp
from functions.store.entities import Meter


@dataclass(frozen=True, slots=True, eq=False)
class CompiledMeter:
    id: str
    func: str
    aggregation: dict[str, Any]
    # What a matching event adds (`value_getter`: 1 for a count, the number for sum/avg/min/max/last, the typed
    # marker for unique; None for nothing), and how it is added to a state (`ADDERS`).
    value: Callable[[dict[str, Any]], Any]
    add: Callable[[Partial, Any], None]
    bit: int  # 1 << the meter's position: an event's set of contributing meters is one int


class MeterGroup(NamedTuple):
    """Meters sharing one filter; each unpacked for the loop that runs once per event and meter (rather than
    read from its attributes): the meter, the metadata key its value is read from (None: a count, or a
    property `value` reads), its conversion of that value (None: a count), its value getter, its bit, and
    whether it is a `last`."""

    matches: Predicate
    members: tuple[tuple[CompiledMeter, str | None, Callable[[Any], Any] | None, Callable[[dict[str, Any]], Any],
                         int, bool], ...]


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
    # Within a group, the meters reading one key one way next to each other (contributions() reads it once).
    return [MeterGroup(predicates[text], tuple(sorted((_member(m) for m in members), key=_reads)))
            for text, members in groups.items()]


def _reads(member: tuple[Any, ...]) -> tuple[str, str]:
    _, key, convert, *_ = member
    return (key or "", getattr(convert, "__name__", ""))


def _member(meter: CompiledMeter) -> tuple[CompiledMeter, str | None, Callable[[Any], Any] | None,
                                           Callable[[dict[str, Any]], Any], int, bool]:
    convert = value_converter(meter.func)
    key = metadata_key(meter.aggregation["property"]) if convert is not None else None
    return meter, key, convert, meter.value, meter.bit, meter.func == "last"


def timestamp_read(meters: list[Meter]) -> bool:
    """Whether any of the meters reads the event's timestamp (a filter clause, the aggregated property): the
    events it is given must then carry it as a time, not only as text."""
    return any(reads_timestamp(m.filter) or m.aggregation.get("property") == "timestamp" for m in meters)


def contributions(groups: list[MeterGroup], event: dict[str, Any], timestamp: str, event_id: str
                  ) -> tuple[list[Any], int]:
    """What the event adds to each meter it matches, in the order `matched_meters` gives them, and those meters'
    bits. A `last` meter's value is paired with the event's order, "{timestamp}#{event id}": events with one
    timestamp still have one deterministic last (the greater id), however they were chunked. Runs once per
    ingested event: values only, no pair per meter (the meters are the same tuple for every event with the same
    bits)."""
    values = []
    bits = 0
    for matches, members in groups:
        if matches(event):
            metadata = event.get("metadata") or {}
            # The key and conversion of the member before, and its value: a sum and a max of one key share it.
            read_key: str | None = None
            read_as: Callable[[Any], Any] | None = None
            read_value: Any = None
            for _, key, convert, value_of, bit, last in members:
                if convert is None:
                    value = 1
                elif key is not None:  # the common case, read here rather than through two calls
                    if key != read_key or convert is not read_as:
                        read_key, read_as, read_value = key, convert, convert(metadata.get(key, MISSING))
                    value = read_value
                else:
                    value = value_of(event)
                if value is not None:
                    values.append((f"{timestamp}#{event_id}", value) if last else value)
                    bits |= bit
    return values, bits


def matched_meters(groups: list[MeterGroup], bits: int) -> tuple[CompiledMeter, ...]:
    """The meters of `bits`, in the order `contributions` gives their values."""
    return tuple(member[0] for _, members in groups for member in members if member[0].bit & bits)


def event_state(groups: list[MeterGroup], event: dict[str, Any], timestamp: str, event_id: str) -> Partial:
    """What one event adds to the (single) compiled meter, as a state (the backfill, the audit, the tests)."""
    state = Partial()
    values, bits = contributions(groups, event, timestamp, event_id)
    for meter, value in zip(matched_meters(groups, bits), values, strict=True):
        meter.add(state, value)
    return state
