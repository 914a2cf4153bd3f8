"""Ingest planning with a fake store: what a request becomes (events, pre-aggregated deltas, markers) and how a
cancelled transaction is read (duplicates dropped, a closed period re-routed, late events counted). No AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from functions.common.clock import iso, parse_iso
from functions.common.errors import Contention, PeriodClosed
from functions.common.retry import Deadline
from functions.events.schemas import EventCreate
from functions.events.service import KnownItems, PeriodRouter, build_chunk, prepare, write_chunk
from functions.meters.periods import calendar_month
from functions.store.aggregates import AggregateDelta, AggregateKey, ChunkResult, StoredAggregate
from functions.store.buckets import BucketDelta, BucketKey
from functions.store.entities import Meter
from functions.store.events import EventRecord
from functions.store.partial import Partial
from tests.unit.entities import meter

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
NOVEMBER = calendar_month(NOW)
DECEMBER = calendar_month(datetime(2026, 12, 1, tzinfo=UTC))
COUNT = meter("m-count", {"func": "count"})
UNIQUE = meter("m-users", {"func": "unique", "property": "user"}, seq=2)
SUM_API = meter("m-ms", {"func": "sum", "property": "ms"}, seq=3,
                filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api"}]})


def events(*specs: tuple[str, str | None, dict]) -> list[EventCreate]:
    return [EventCreate(name=name, customer_id="c1", external_id=ext, metadata=md, timestamp=iso(NOW))
            for name, ext, md in specs]


@dataclass
class FakeUsage:
    """The store's side of ingest, in memory: answers scripted in `results` (committed when none is left)."""

    stored: dict[AggregateKey, StoredAggregate] = field(default_factory=dict)
    markers: set[tuple[AggregateKey, str]] = field(default_factory=set)
    results: list[ChunkResult | PeriodClosed] = field(default_factory=list)
    written: list[tuple[list[EventRecord], list[AggregateDelta]]] = field(default_factory=list)

    def read_aggregates(self, org_id: str, keys: list[AggregateKey], shard: int = 0
                        ) -> dict[AggregateKey, StoredAggregate]:
        return {k: self.stored[k] for k in keys if k in self.stored}

    def present_markers(self, org_id: str, wanted: list[tuple[AggregateKey, str]]) -> set[tuple[AggregateKey, str]]:
        return {w for w in wanted if w in self.markers}

    def read_buckets(self, org_id: str, keys: list[BucketKey]) -> dict[BucketKey, Partial]:
        return {}

    def write_chunk(self, org_id: str, records: list[EventRecord], deltas: list[AggregateDelta],
                    buckets: list[BucketDelta], puts: list | None = None) -> ChunkResult:
        self.written.append((list(records), list(deltas)))
        result = self.results.pop(0) if self.results else ChunkResult(committed=True)
        if isinstance(result, PeriodClosed):
            raise result
        return result


def plan(specs: list[EventCreate], meters: list[Meter]) -> list:
    prepared, _ = prepare("org", specs, ["c1"] * len(specs), meters, NOW)
    return prepared


def test_a_request_repeating_an_external_id_keeps_it_once() -> None:
    prepared, duplicates = prepare("org", events(("a", "x1", {}), ("a", "x1", {}), ("a", None, {})), ["c1"] * 3,
                                   [COUNT], NOW)
    assert duplicates == 1 and len(prepared) == 2


def test_events_are_pre_aggregated_per_customer_meter_and_period() -> None:
    prepared = plan(events(("api", "1", {"ms": 5, "user": "u1"}), ("api", "2", {"ms": 7, "user": "u1"}),
                           ("web", "3", {"user": "u2"})), [COUNT, UNIQUE, SUM_API])
    chunk = build_chunk(prepared, PeriodRouter({}))
    assert [r.period_key for r in chunk.events] == [NOVEMBER.key] * 3
    by_meter = {d.key[1]: d for d in chunk.deltas}
    assert set(by_meter) == {"m-count", "m-users", "m-ms"} and all(d.key[0] == "c1" for d in chunk.deltas)
    assert by_meter["m-count"].partial.count == 3
    assert by_meter["m-ms"].partial.total == 12 and by_meter["m-ms"].partial.count == 2
    assert by_meter["m-users"].partial.uniques == {"s:u1", "s:u2"}


def test_a_meter_filtering_on_the_timestamp_compares_it_as_a_time() -> None:
    """The meters read the validated event itself unless one reads its timestamp: then it is given as a time,
    and a filter on it matches by time whatever the other meters are."""
    after_noon = {"clauses": [{"property": "timestamp", "operator": "gte", "value": "2026-11-10T12:00:00+00:00"}]}
    timed = meter("m-afternoon", {"func": "count"}, seq=2, filter=after_noon)
    specs = [EventCreate(name="api", customer_id="c1", external_id=str(i), timestamp=at, metadata={"ms": 1})
             for i, at in enumerate(["2026-11-10T11:59:59.999999Z", "2026-11-10T12:00:00.000000Z"])]
    counted = {d.key[1]: d.partial.count for d in build_chunk(plan(specs, [COUNT, timed]), PeriodRouter({})).deltas}
    assert counted == {"m-count": 2, "m-afternoon": 1}
    assert {d.key[1] for d in build_chunk(plan(specs, [COUNT, SUM_API]), PeriodRouter({})).deltas} == {
        "m-count", "m-ms"}


def test_buckets_are_per_hour_and_day_and_leave_unique_meters_out() -> None:
    """Two events in one hour and one in the next, one event the day before: the hours each hold their own
    events, a day the sum of its hours; a unique meter has no buckets (its quantities come from events)."""
    maximum = meter("m-max", {"func": "max", "property": "ms"}, seq=4)
    moments = ["2026-11-10T12:05:00Z", "2026-11-10T12:59:59Z", "2026-11-10T13:00:00Z", "2026-11-09T23:30:00Z"]
    specs = [EventCreate(name="api", customer_id="c1", external_id=str(i), timestamp=iso(parse_iso(at)),
                         metadata={"ms": 10 * (i + 1), "user": f"u{i}"}) for i, at in enumerate(moments)]
    prepared, _ = prepare("org", specs, ["c1"] * 4, [COUNT, UNIQUE, maximum], NOW)
    by_key = {b.key: b.partial for b in build_chunk(prepared, PeriodRouter({})).buckets}
    assert {k[1] for k in by_key} == {"m-count", "m-max"}
    count = {(grain, start): p.count for (_, m, grain, start, _), p in by_key.items() if m == "m-count"}
    assert count == {("H", "2026-11-10T12"): 2, ("H", "2026-11-10T13"): 1, ("H", "2026-11-09T23"): 1,
                     ("D", "2026-11-10"): 3, ("D", "2026-11-09"): 1}
    assert by_key[("c1", "m-max", "H", "2026-11-10T12", 0)].maximum == 20
    assert by_key[("c1", "m-max", "D", "2026-11-10", 0)].maximum == 30


def test_a_committed_chunk_writes_only_markers_not_stored_yet() -> None:
    usage = FakeUsage(markers={(("c1", "m-users", NOVEMBER.key), "s:u1")})
    prepared = plan(events(("a", "1", {"user": "u1"}), ("a", "2", {"user": "u2"})), [UNIQUE])
    inserted, duplicates, touched = write_chunk("org", prepared, PeriodRouter({}), usage)
    assert (inserted, duplicates, touched) == (2, 0, [("c1", "m-users", NOVEMBER.key)])
    [(_, deltas)] = usage.written
    assert deltas[0].new_markers == ["s:u2"]


def test_duplicates_named_by_the_cancellation_are_dropped_and_the_rest_retried() -> None:
    prepared = plan(events(("a", "1", {}), ("a", "2", {}), ("a", "3", {})), [COUNT])
    usage = FakeUsage(results=[ChunkResult(committed=False, duplicates={prepared[1].id})])
    inserted, duplicates, _ = write_chunk("org", prepared, PeriodRouter({}), usage)
    assert (inserted, duplicates) == (2, 1)
    first, second = usage.written
    assert len(first[0]) == 3 and [r.id for r in second[0]] == [prepared[0].id, prepared[2].id]
    assert second[1][0].partial.count == 2  # the aggregate counts only what is written


def test_a_closed_period_sends_its_events_to_the_open_one_marked_late() -> None:
    closed_key = ("c1", "m-count", NOVEMBER.key)
    usage = FakeUsage(stored={closed_key: StoredAggregate("c1", "m-count", NOVEMBER.key, "", closed=True)})
    prepared = plan(events(("a", "1", {}), ("a", "2", {})), [COUNT])
    inserted, _, touched = write_chunk("org", prepared, PeriodRouter({}), usage)
    assert inserted == 2 and touched == [("c1", "m-count", DECEMBER.key)]
    [(records, deltas)] = usage.written  # the closed aggregate was seen on the read: nothing written to it
    assert {(r.period_key, r.late) for r in records} == {(DECEMBER.key, True)}
    assert deltas[0].late_count == 2


def test_a_period_closed_during_the_transaction_is_rerouted_too() -> None:
    prepared = plan(events(("a", "1", {}),), [COUNT])
    usage = FakeUsage(results=[PeriodClosed({("c1", "m-count", NOVEMBER.key)})])
    inserted, _, touched = write_chunk("org", prepared, PeriodRouter({}), usage)
    assert inserted == 1 and touched == [("c1", "m-count", DECEMBER.key)]
    assert usage.written[1][0][0].late is True


def test_a_duplicate_cancelled_with_a_closed_period_is_counted_once_by_the_retry() -> None:
    prepared = plan(events(("a", "1", {}), ("a", "2", {})), [COUNT])
    usage = FakeUsage(results=[PeriodClosed({("c1", "m-count", NOVEMBER.key)}),
                               ChunkResult(committed=False, duplicates={prepared[0].id})])
    inserted, duplicates, touched = write_chunk("org", prepared, PeriodRouter({}), usage)
    assert (inserted, duplicates, touched) == (1, 1, [("c1", "m-count", DECEMBER.key)])
    records, deltas = usage.written[-1]
    assert [(r.id, r.period_key, r.late) for r in records] == [(prepared[1].id, DECEMBER.key, True)]
    assert (deltas[0].partial.count, deltas[0].late_count) == (1, 1)


def test_the_prior_state_read_guards_min_and_max() -> None:
    minimum = meter("m-min", {"func": "min", "property": "ms"})
    key = ("c1", "m-min", NOVEMBER.key)
    prior = StoredAggregate("c1", "m-min", NOVEMBER.key, NOVEMBER.end.isoformat(), version=4)
    usage = FakeUsage(stored={key: prior})
    write_chunk("org", plan(events(("a", "1", {"ms": 3}),), [minimum]), PeriodRouter({}), usage)
    assert usage.written[0][1][0].prior is prior


def test_a_requests_later_chunks_read_only_what_its_earlier_ones_did_not(monkeypatch) -> None:
    """A request knows what its committed chunks wrote: its next chunk is conditioned on that without a read. A
    chunk that did not commit forgets it and reads the store again."""
    monkeypatch.setattr("functions.common.retry.time.sleep", lambda seconds: None)
    reads: list[list[AggregateKey]] = []

    class CountingReads(FakeUsage):
        def read_aggregates(self, org_id, keys, shard=0):
            reads.append(list(keys))
            return super().read_aggregates(org_id, keys)

    maximum = meter("m-max", {"func": "max", "property": "ms"})
    usage = CountingReads(results=[ChunkResult(committed=True), ChunkResult(committed=False)])
    known = KnownItems()
    write_chunk("org", plan(events(("a", "1", {"ms": 5}),), [maximum]), PeriodRouter({}), usage,
                known=known)
    write_chunk("org", plan(events(("a", "2", {"ms": 3}),), [maximum]), PeriodRouter({}), usage,
                Deadline(lambda: 10_000, margin_ms=3000), known=known)
    assert len(reads) == 2 and len(usage.written) == 3  # the first chunk's read, and the re-read after the cancel
    second_chunk = usage.written[1][1][0]
    assert second_chunk.prior is not None and second_chunk.prior.state.maximum == 5  # what the first one wrote
    assert usage.written[2][1][0].prior is None  # read again: the fake store holds nothing


def test_a_contended_chunk_is_retried_until_it_commits_and_counted_once(monkeypatch) -> None:
    monkeypatch.setattr("functions.common.retry.time.sleep", lambda seconds: None)
    prepared = plan(events(("a", "1", {}), ("a", "2", {})), [COUNT])
    usage = FakeUsage(results=[ChunkResult(committed=False)] * 20)  # 20 cancellations by other writers, then commit
    deadline = Deadline(lambda: 10_000, margin_ms=3000)
    inserted, duplicates, _ = write_chunk("org", prepared, PeriodRouter({}), usage, deadline)
    assert (inserted, duplicates, len(usage.written)) == (2, 0, 21)  # more than the 12 attempts a count allowed
    assert all(deltas[0].partial.count == 2 for _, deltas in usage.written)


def test_contention_past_the_deadline_is_refused_as_contention(monkeypatch) -> None:
    monkeypatch.setattr("functions.common.retry.time.sleep", lambda seconds: None)
    left = [4000]

    class OtherWritersKeepWinning(FakeUsage):
        def write_chunk(self, org_id, records, deltas, buckets, puts=None):
            left[0] -= 250  # each attempt takes 250 ms of the invocation
            return super().write_chunk(org_id, records, deltas, buckets, puts)

    usage = OtherWritersKeepWinning(results=[ChunkResult(committed=False)] * 100)
    deadline = Deadline(lambda: left[0], margin_ms=3000, base=0.0)
    with pytest.raises(Contention):
        write_chunk("org", plan(events(("a", "1", {})), [COUNT]), PeriodRouter({}), usage, deadline)
    # Retries start while 3,000 ms are left (the last at exactly 3,000): the margin is what the last attempt and
    # the answer may use. 4,000 -> 3,000 in four attempts, then the fifth, then no sixth.
    assert len(usage.written) == 5 and left[0] == 2750


def test_a_held_chunk_moves_to_another_shard_and_a_moved_one_is_read_again_on_its_own(monkeypatch) -> None:
    from functions.events import service

    monkeypatch.setattr("functions.common.retry.time.sleep", lambda seconds: None)
    monkeypatch.setattr(service.WRITER_SHARD, "current", 0)
    reads: list[int] = []

    class CountingReads(FakeUsage):
        def read_aggregates(self, org_id, keys, shard=0):
            reads.append(shard)
            return super().read_aggregates(org_id, keys)

    usage = CountingReads(results=[ChunkResult(committed=False, held=True), ChunkResult(committed=False, held=True),
                                   ChunkResult(committed=False), ChunkResult(committed=False, held=True)])
    inserted, _, _ = write_chunk("org", plan(events(("a", "1", {}),), [COUNT]), PeriodRouter({}), usage,
                                 Deadline(lambda: 10_000, margin_ms=3000))
    assert (inserted, len(usage.written), len(reads)) == (1, 5, 5)  # every attempt reads what it writes against
    assert reads[0] == 0 and reads[1] != reads[0] and reads[2] != reads[1]  # held: moved on
    assert reads[3] == reads[2] and reads[4] != reads[3]  # a condition refused: the same shard, read again
    assert {d.shard for _, deltas in usage.written for d in deltas} <= set(range(4))
    assert [d.shard for _, deltas in usage.written for d in deltas] == reads  # written where it was read
    assert service.WRITER_SHARD.current == reads[-1]  # kept for the environment's next request


def test_the_request_model_prints_in_constant_time_as_powertools_logs_it_on_every_request() -> None:
    from functions.events.schemas import EventsIngest

    body = EventsIngest.model_validate({"events": [{"name": "x", "external_customer_id": "c"}] * 1000})
    assert repr(body) == "EventsIngest(1000 events)" and str({"body": body}) == "{'body': EventsIngest(1000 events)}"
