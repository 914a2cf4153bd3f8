"""The chunk planner keeps every event, in order, and never exceeds 100 actions per transaction (events,
aggregate updates, quantity-bucket updates and unique markers)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from functions.events.chunks import PreparedEvent, plan_chunks
from functions.events.service import event_buckets
from functions.meters.aggregation import Partial

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def event(i: int, customer: int, meters: list[int], unique: int | None, hour: int = 0) -> PreparedEvent:
    contributions = [(f"m{m}", Partial(count=1)) for m in meters]
    if unique is not None:
        contributions.append(("mu", Partial(uniques={f"s:{unique}"})))
    return PreparedEvent(id=f"e{i}", customer_id=f"c{customer}", name="n", timestamp=NOW,
                         timestamp_iso=f"2026-11-{1 + hour // 24:02d}T{hour % 24:02d}:00:00.000000Z",
                         external_id=None, metadata={}, contributions=contributions)


def aggregate_keys(e: PreparedEvent) -> list[tuple[str, str, str]]:
    return [(e.customer_id, m, "p") for m, _ in e.contributions]


def actions(chunk: list[PreparedEvent]) -> int:
    """Counted from the chunk itself: one per event, per distinct aggregate, hour and day bucket (not for a
    unique meter), and distinct unique value."""
    aggregates = {(e.customer_id, m) for e in chunk for m, _ in e.contributions}
    buckets = {(e.customer_id, m, grain, e.timestamp_iso[:length]) for e in chunk for m, p in e.contributions
               if not p.uniques for grain, length in (("H", 13), ("D", 10))}
    markers = {(e.customer_id, m, u) for e in chunk for m, p in e.contributions for u in p.uniques}
    return len(chunk) + len(aggregates) + len(buckets) + len(markers)


@given(st.lists(st.tuples(st.integers(0, 30), st.lists(st.integers(0, 5), max_size=5, unique=True),
                          st.one_of(st.none(), st.integers(0, 200)), st.integers(0, 71)), max_size=400))
def test_chunks_cover_every_event_within_limit(specs) -> None:
    events = [event(i, c, ms, u, hour) for i, (c, ms, u, hour) in enumerate(specs)]
    chunks = plan_chunks(events, aggregate_keys, event_buckets)
    assert [e.id for chunk in chunks for e in chunk] == [e.id for e in events]
    assert all(actions(chunk) <= 100 for chunk in chunks)


def test_one_customer_three_meters_packs_91_events_per_transaction() -> None:
    """3 aggregates, 3 hour and 3 day buckets beside 91 events: 1,000 events of one hour in 11 transactions."""
    events = [event(i, 0, [0, 1, 2], None) for i in range(1000)]
    chunks = plan_chunks(events, aggregate_keys, event_buckets)
    assert [len(c) for c in chunks[:-1]] == [91] * 10 and len(chunks) == 11
