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
    events: Iterable[PreparedEvent], period_key: Callable[[PreparedEvent], str], limit: int = MAX_ACTIONS
) -> list[list[PreparedEvent]]:
    chunks: list[list[PreparedEvent]] = []
    current: list[PreparedEvent] = []
    aggregates: set[tuple[str, str, str]] = set()
    markers: set[tuple[str, str, str, str]] = set()
    for event in events:
        period = period_key(event)
        new_aggregates = {(event.customer_id, m, period) for m, _ in event.contributions} - aggregates
        new_markers = {
            (event.customer_id, m, period, u) for m, part in event.contributions for u in part.uniques
        } - markers
        cost = 1 + len(new_aggregates) + len(new_markers)
        if current and len(current) + len(aggregates) + len(markers) + cost > limit:
            chunks.append(current)
            current, aggregates, markers = [], set(), set()
            new_aggregates = {(event.customer_id, m, period) for m, _ in event.contributions}
            new_markers = {(event.customer_id, m, period, u) for m, part in event.contributions for u in part.uniques}
        current.append(event)
        aggregates |= new_aggregates
        markers |= new_markers
    if current:
        chunks.append(current)
    return chunks
