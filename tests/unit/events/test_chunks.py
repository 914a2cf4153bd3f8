"""The chunk builder keeps every event, in order, never exceeds 100 actions per transaction (events, aggregate
updates, quantity-bucket updates and unique markers), and adds every event's values once, whichever path
(the event before's cells, or new ones) it took."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from functions.events.chunks import PreparedEvent, Routed, build_chunks
from functions.meters.aggregation import ADDERS, value_getter
from functions.meters.matching import CompiledMeter
from functions.meters.periods import calendar_month

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD = calendar_month(NOW)
COUNT, UNIQUE_VALUE = {"func": "count"}, {"func": "unique", "property": "u"}
COUNTS = [CompiledMeter(f"m{m}", "count", COUNT, value_getter(COUNT), ADDERS["count"], 1 << m) for m in range(6)]
UNIQUE = CompiledMeter("mu", "unique", UNIQUE_VALUE, value_getter(UNIQUE_VALUE), ADDERS["unique"], 1 << 6)


def event(i: int, customer: int, meters: list[int], unique: int | None, hour: int = 0) -> PreparedEvent:
    matched = [COUNTS[m] for m in meters] + ([UNIQUE] if unique is not None else [])
    values: list = [1] * len(meters) + ([f"s:{unique}"] if unique is not None else [])
    moment = NOW + timedelta(hours=hour)
    return PreparedEvent(id=f"e{i}", customer_id=f"c{customer}", name="n",
                         timestamp=moment.strftime("%Y-%m-%dT%H:00:00.000000Z"), external_id=None, metadata={},
                         ingested_at="now", period_key="", meter_seq=1, matched=tuple(matched),
                         values=values, meters=sum(meter.bit for meter in matched))


def own_period(_: PreparedEvent) -> Routed:
    return (PERIOD, False), None


def actions(chunk: list[PreparedEvent]) -> int:
    """Counted from the chunk itself: one per event, per distinct aggregate, hour and day bucket (not for a
    unique meter), and distinct unique value."""
    aggregates = {(e.customer_id, m.id) for e in chunk for m in e.matched}
    buckets = {(e.customer_id, m.id, grain, e.timestamp[:length]) for e in chunk for m in e.matched
               if m.func != "unique" for grain, length in (("H", 13), ("D", 10))}
    markers = {(e.customer_id, m.id, v) for e in chunk for m, v in zip(e.matched, e.values, strict=True)
               if m.func == "unique"}
    return len(chunk) + len(aggregates) + len(buckets) + len(markers)


@given(st.lists(st.tuples(st.integers(0, 30), st.lists(st.integers(0, 5), max_size=5, unique=True),
                          st.one_of(st.none(), st.integers(0, 200)), st.integers(0, 71)), max_size=400))
def test_chunks_cover_every_event_within_limit_and_count_each_once(specs) -> None:
    # Sorted as ingest sorts them (customer, then time), so that runs of events share their cells.
    events = sorted((event(i, c, ms, u, hour) for i, (c, ms, u, hour) in enumerate(specs)),
                    key=lambda e: (e.customer_id, e.timestamp))
    chunks = build_chunks(events, own_period)
    assert [e.id for chunk in chunks for e in chunk.events] == [e.id for e in events]
    assert all(actions(chunk.events) == len(chunk.events) + len(chunk.deltas) + len(chunk.buckets)
               + sum(len(d.partial.uniques) for d in chunk.deltas) <= 100 for chunk in chunks)
    for chunk in chunks:
        counted = {d.key[:2]: d.partial.count for d in chunk.deltas if d.key[1] != "mu"}
        assert counted == {(c, m): sum(1 for e in chunk.events for meter in e.matched
                                       if (e.customer_id, meter.id) == (c, m)) for c, m in counted}
        hours = {(b.key[0], b.key[1], b.key[3]): b.partial.count for b in chunk.buckets if b.key[2] == "H"}
        assert sum(hours.values()) == sum(counted.values())


def test_one_customer_three_meters_packs_91_events_per_transaction() -> None:
    """3 aggregates, 3 hour and 3 day buckets beside 91 events: 1,000 events of one hour in 11 transactions."""
    events = [event(i, 0, [0, 1, 2], None) for i in range(1000)]
    chunks = build_chunks(events, own_period)
    assert [len(c.events) for c in chunks[:-1]] == [91] * 10 and len(chunks) == 11
    assert [d.partial.count for d in chunks[0].deltas] == [91] * 3


def test_a_new_unique_value_costs_an_action_on_the_shared_path_too() -> None:
    """Events that share their cells still bring new unique values: each costs a marker put."""
    events = [event(i, 0, [0], i) for i in range(200)]  # count + unique: 2 aggregates, 2 buckets, 1 marker each
    chunks = build_chunks(events, own_period)
    assert [len(c.events) for c in chunks] == [48, 48, 48, 48, 8]
    assert all(len(c.events) * 2 + 4 <= 100 for c in chunks)
    assert [len(d.partial.uniques) for d in chunks[0].deltas if d.key[1] == "mu"] == [48]
