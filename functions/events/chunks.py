"""Splitting an ingest request into transactions of at most 100 actions. Pure.

Each event costs one action (its put); each distinct (customer, meter, period) aggregate in the chunk costs
one (its update, pre-aggregated over the chunk); each distinct unique value costs one (its marker put).
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
    limit: int = MAX_ACTIONS
) -> list[list[PreparedEvent]]:
    """`aggregate_keys`: the (customer, meter, period) of each of an event's contributions, in their order."""
    chunks: list[list[PreparedEvent]] = []
    current: list[PreparedEvent] = []
    aggregates: set[tuple[str, str, str]] = set()
    markers: set[tuple[str, str, str, str]] = set()
    for event in events:
        keys = aggregate_keys(event)
        event_markers = {(*k, u) for k, (_, part) in zip(keys, event.contributions, strict=True) for u in part.uniques}
        new_aggregates = set(keys) - aggregates
        new_markers = event_markers - markers
        cost = 1 + len(new_aggregates) + len(new_markers)
        if current and len(current) + len(aggregates) + len(markers) + cost > limit:
            chunks.append(current)
            current, aggregates, markers = [], set(), set()
            new_aggregates, new_markers = set(keys), event_markers
        current.append(event)
        aggregates |= new_aggregates
        markers |= new_markers
    if current:
        chunks.append(current)
    return chunks
