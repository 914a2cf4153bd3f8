"""Splitting an ingest request into transactions of at most 100 actions. Pure.

Each event costs one action (its put); each distinct (customer, meter, period) aggregate in the chunk costs
one (its update, pre-aggregated over the chunk), and so does each distinct quantity bucket (customer, meter,
hour or day); each distinct unique value costs one (its marker put).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.meters.aggregation import Partial

MAX_ACTIONS = 100


@dataclass
class PreparedEvent:
    id: str
    customer_id: str
    name: str
    timestamp: datetime
    timestamp_iso: str
    external_id: str | None
    metadata: dict[str, Any]
    contributions: list[tuple[str, Partial]]


def plan_chunks(
    events: Iterable[PreparedEvent], aggregate_keys: Callable[[PreparedEvent], list[tuple[str, str, str]]],
    bucket_keys: Callable[[PreparedEvent], set[tuple[str, str, str, str, int]]] = lambda _: set(),
    limit: int = MAX_ACTIONS
) -> list[list[PreparedEvent]]:
    """`aggregate_keys`: the (customer, meter, period) of each of an event's contributions, in their order;
    `bucket_keys`: the quantity buckets the event updates."""
    chunks: list[list[PreparedEvent]] = []
    current: list[PreparedEvent] = []
    # Every item the chunk updates once (aggregates and buckets), and its unique markers.
    updated: set[tuple[str | int, ...]] = set()
    markers: set[tuple[str, str, str, str]] = set()
    for event in events:
        keys = aggregate_keys(event)
        event_markers = {(*k, u) for k, (_, part) in zip(keys, event.contributions, strict=True) for u in part.uniques}
        event_updates = set(keys) | bucket_keys(event)
        new_updates = event_updates - updated
        new_markers = event_markers - markers
        cost = 1 + len(new_updates) + len(new_markers)
        if current and len(current) + len(updated) + len(markers) + cost > limit:
            chunks.append(current)
            current, updated, markers = [], set(), set()
            new_updates, new_markers = event_updates, event_markers
        current.append(event)
        updated |= new_updates
        markers |= new_markers
    if current:
        chunks.append(current)
    return chunks
