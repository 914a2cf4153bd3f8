"""Ingestion: validate, resolve customers, match meters, and write each chunk exactly once.

A chunk is one transaction holding its events and their pre-aggregated contributions. A cancelled
transaction is read through its reasons: duplicates are dropped (they were counted before), a closed period
re-routes its events to the open one (marked late), a min/max/last moved past ours or a unique value written
concurrently is re-read; then the rest is retried. A transaction cancelled by a concurrent writer is retried
with full-jitter backoff for as long as the invocation has time (docs/performance.md, one hot customer).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Protocol

from functions.common.clock import iso, utcnow
from functions.common.errors import Contention, PeriodClosed, ValidationFailed, field_error
from functions.common.ids import name_ids, new_id
from functions.common.retry import Deadline, time_budget
from functions.customers import service as customers
from functions.events.chunks import Chunk, PreparedEvent, Routed, build_chunks
from functions.events.schemas import EventCreate
from functions.meters.aggregation import NotExact, Partial, exact_add
from functions.meters.matching import CompiledMeter, compile_meters, contributions, matched_meters, timestamp_read
from functions.meters.periods import Period, calendar_month, customer_period, following_period
from functions.store import aggregates, buckets, markers
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store.aggregates import AggregateDelta, AggregateKey, ChunkResult, StoredAggregate
from functions.store.buckets import BucketDelta, BucketKey
from functions.store.entities import BillingState, Customer, Meter
from functions.store.events import EventRecord, event_puts
from functions.store.keys import AGGREGATE_SHARDS
from functions.thresholds import service as thresholds


class UsageStore(Protocol):
    """What ingest reads and writes: the aggregates, the unique markers, the chunk's transaction."""

    def read_aggregates(self, org_id: str, keys: list[AggregateKey], shard: int = 0
                        ) -> dict[AggregateKey, StoredAggregate]: ...

    def read_buckets(self, org_id: str, keys: list[BucketKey]) -> dict[BucketKey, Partial]: ...

    def present_markers(self, org_id: str, wanted: list[tuple[AggregateKey, str]]
                        ) -> set[tuple[AggregateKey, str]]: ...

    def write_chunk(self, org_id: str, events: Sequence[EventRecord], deltas: list[AggregateDelta],
                    buckets: list[BucketDelta], puts: list[dict[str, Any]] | None = None) -> ChunkResult:
        """Raises PeriodClosed when an aggregate's period is closed (nothing of the chunk is written). `puts`:
        the events' puts, encoded ahead (functions/store/events.event_puts)."""
        ...


class DynamoUsage:
    """The store's functions (functions/store/aggregates.py, buckets.py, markers.py)."""

    read_aggregates = staticmethod(aggregates.read_aggregates)
    read_buckets = staticmethod(buckets.read_buckets)
    present_markers = staticmethod(markers.present_markers)
    write_chunk = staticmethod(aggregates.write_chunk)


DYNAMO_USAGE: UsageStore = DynamoUsage()

EVENT_ID_NAMESPACE = uuid.UUID("5b0c2a51-8a4e-4d7e-9d3e-6f1f7b2c9a10")
# Retries of a contended chunk stop this long before the invocation's deadline: the slowest attempt measured on
# the local stack (a read and a 100-action transaction) is well under a second; the rest is for the request's
# other chunks' first attempts, the threshold checks and the answer.
RETRY_MARGIN_MS = 3000
# Callers without a Lambda context's countdown (bulk ingest, which bounds its own file by its remaining time):
# the budget of one API request (the ingest Lambda's 29 s timeout).
DEFAULT_BUDGET_MS = 29_000


def event_ids(org_id: str) -> Callable[[str], str]:
    """The id in the organization of an event with an external id: deterministic from it, so that every retry of
    the event writes the same item (an event without one gets a new id)."""
    return name_ids(EVENT_ID_NAMESPACE, f"{org_id}\x00")


def request_deadline(remaining_ms: Callable[[], int] | None = None) -> Deadline:
    return Deadline(remaining_ms or time_budget(DEFAULT_BUDGET_MS), RETRY_MARGIN_MS)


@dataclass
class IngestResult:
    inserted: int = 0
    duplicates: int = 0


@lru_cache(maxsize=64)
def _month_of(year: int, month: int) -> Period:
    return calendar_month(datetime(year, month, 1, tzinfo=UTC))


class PeriodRouter:
    """The period an event counts in for a meter: the one containing its timestamp (the billing cycle of the
    subscription the meter follows, `Customer.billing_for`, or the calendar month without one) unless that
    period is closed for the meter; then the open one, marked late."""

    def __init__(self, customers: dict[str, Customer]) -> None:
        self.customers = customers
        # (customer, subscription id or "" for the calendar month, period key): a period found closed for one
        # meter is closed for every meter counting in the same cycle (the close closes them together).
        self.closed: set[tuple[str, str, str]] = set()
        self._states: dict[tuple[str, str], BillingState | None] = {}
        # (customer, subscription id or ""): the last period found for it and its bounds (ISO), which the next
        # event, a moment later, is most likely in too.
        self._current: dict[tuple[str, str], tuple[str, str, Period]] = {}
        # (customer, period start, period end, routed): the last common-case answer (one period for every meter,
        # open, not late), which the next event of the customer inside the period gets again; forgotten when a
        # period closes.
        self._last: tuple[str, str, str, Routed] | None = None

    def state(self, customer_id: str, meter_id: str) -> BillingState | None:
        """The billing state whose periods the customer's meter counts in ("" for a meter no subscription
        prices)."""
        key = (customer_id, meter_id)
        if key not in self._states:
            customer = self.customers.get(customer_id)
            self._states[key] = customer.billing_for(meter_id) if customer else None
        return self._states[key]

    def single(self, customer_id: str) -> bool:
        """Whether every meter of the customer counts in the same periods (at most one subscription)."""
        customer = self.customers.get(customer_id)
        return customer is None or len(customer.billing) < 2

    def period(self, customer_id: str, meter_id: str, moment_iso: str) -> tuple[Period, bool]:
        billing = self.state(customer_id, meter_id)
        cycle_id = billing.subscription_id if billing else ""
        current = self._current.get((customer_id, cycle_id))
        if current is not None and current[0] <= moment_iso < current[1]:
            period, late = current[2], False  # what customer_period answers for a moment inside it
        else:
            moment = datetime.fromisoformat(moment_iso)
            if billing:
                period, late = customer_period(billing, moment)
            else:
                period, late = _month_of(moment.year, moment.month), False
            if not late:
                self._current[(customer_id, cycle_id)] = (period.key, iso(period.end), period)
        while (customer_id, cycle_id, period.key) in self.closed:
            period, late = following_period(billing, period), True
        return period, late

    def close_all(self, keys: set[AggregateKey]) -> None:
        """The aggregates' periods are closed: the events of their cycles go to the following period."""
        self._last = None
        for customer_id, meter_id, period_key in keys:
            billing = self.state(customer_id, meter_id)
            self.closed.add((customer_id, billing.subscription_id if billing else "", period_key))

    def event_periods(self, event: PreparedEvent) -> Routed:
        """The event's own period (its customer's primary cycle) and, per contribution, the period and lateness
        its meter counts it in (None: its own, for every meter, the common case)."""
        last = self._last
        if last is not None and last[0] == event.customer_id and last[1] <= event.timestamp < last[2]:
            return last[3]  # the event before's answer: same customer, same open period, nothing closed since
        own = self.period(event.customer_id, "", event.timestamp)
        if not self.closed and self.single(event.customer_id):
            billing = self.state(event.customer_id, "")
            current = self._current.get((event.customer_id, billing.subscription_id if billing else ""))
            if not own[1] and current is not None and current[2] is own[0]:
                self._last = (event.customer_id, current[0], current[1], (own, None))
            return own, None
        periods = [self.period(event.customer_id, meter.id, event.timestamp)
                   for meter in event.matched]
        return own, (None if all(p is own[0] and not late for p, late in periods) and not own[1] else periods)


def resolve_customers(org_id: str, events: list[EventCreate]) -> tuple[list[str], dict[str, Customer]]:
    """The customer id of each event and the customers; unknown customer ids are a 422, unknown external ids
    are created."""
    given = [e.get("customer_id") for e in events]
    by_id = any(given)  # most requests name their customers by external id only
    direct = customer_store.get_many(org_id, [c for c in given if c]) if by_id else {}
    errors = [
        field_error(["body", "events", i, "customer_id"], "customer not found", "customer_not_found")
        for i, customer_id in enumerate(given)
        if customer_id and customer_id not in direct
    ] if by_id else []
    errors += [
        field_error(["body", "events", i, "organization_id"], "must be the token's organization")
        for i, e in enumerate(events)
        if e.get("organization_id") and e["organization_id"] != org_id
    ]
    if errors:
        raise ValidationFailed(errors)
    # Validated: an event without a customer id has an external one (EventCreate).
    named = [e.get("external_customer_id") or "" for e in events]
    external = customers.resolve_external_ids(org_id, [n for n in named if n])
    ids = [customer_id or external[name] for customer_id, name in zip(given, named, strict=True)]
    missing = [i for i in dict.fromkeys(ids) if i not in direct]
    return ids, {**direct, **(customer_store.get_many(org_id, missing) if missing else {})}


def prepare(org_id: str, events: list[EventCreate], customer_ids: list[str], meters: list[Meter],
            now: datetime, meter_seq: int = 0) -> tuple[list[PreparedEvent], int]:
    """Each event's record (ingested `now`, matched against meters up to `meter_seq`) and what it adds to each
    meter it matches; a repeated id is counted once."""
    prepared: dict[str, PreparedEvent] = {}
    duplicates = 0
    groups = compile_meters(meters)
    now_iso = iso(now)
    event_id = event_ids(org_id)
    parse = datetime.fromisoformat
    timestamps = timestamp_read(meters)
    meters_by_bits: dict[int, tuple[CompiledMeter, ...]] = {}
    for event, customer_id in zip(events, customer_ids, strict=True):
        external_id = event.get("external_id")
        eid = new_id() if external_id is None else event_id(external_id)
        if eid in prepared:
            duplicates += 1
            continue
        moment_iso = event.get("timestamp") or now_iso  # in canonical form (EventCreate)
        name, metadata = event["name"], event.get("metadata") or {}
        # The meters read the event itself, unless one reads its timestamp, which they compare as a time.
        view: Any = {"name": name, "timestamp": parse(moment_iso), "metadata": metadata} if timestamps else event
        values, bits = contributions(groups, view, moment_iso, eid)
        matched = meters_by_bits.get(bits)
        if matched is None:
            matched = meters_by_bits[bits] = matched_meters(groups, bits)
        prepared[eid] = PreparedEvent(eid, customer_id, name, moment_iso, external_id, metadata, now_iso, "",
                                      meter_seq, False, None, matched, values, bits)
    return list(prepared.values()), duplicates


def ingest(org_id: str, events: list[EventCreate], *, usage: UsageStore = DYNAMO_USAGE,
           clock: Callable[[], datetime] = utcnow, remaining_ms: Callable[[], int] | None = None) -> IngestResult:
    """`remaining_ms`: the invocation's countdown (a Lambda context's get_remaining_time_in_millis), which
    bounds the retries of contended chunks."""
    now = clock()
    deadline = request_deadline(remaining_ms)
    customer_ids, customers_by_id = resolve_customers(org_id, events)
    meters = meter_store.list_all(org_id)
    active = [m for m in meters if not m.archived_at]
    meter_seq = max((m.seq for m in meters), default=0)
    prepared, duplicates = prepare(org_id, events, customer_ids, active, now, meter_seq)
    result = IngestResult(duplicates=duplicates)
    router = PeriodRouter(customers_by_id)
    # Grouped by customer, a chunk carries one aggregate update per meter rather than one per customer and
    # meter: fewer, fuller transactions when a request mixes many customers (bulk files do); in time order
    # within a customer, its events of one hour share their buckets' updates.
    prepared.sort(key=attrgetter("customer_id", "timestamp"))
    by_id = {m.id: m for m in active}
    try:
        built = build_chunks(prepared, router.event_periods, WRITER_SHARD.current)
        # Every chunk's event puts encoded now, while the events are fresh from planning, rather than each
        # between two transactions (measured: about 1 us an event less).
        puts = [event_puts(org_id, chunk.events) for chunk in built]
        known = KnownItems()
        closed_seen = len(router.closed)
        for chunk, chunk_puts in zip(built, puts, strict=True):
            # Built against the closed periods known before any chunk was written: rebuilt if an earlier chunk
            # found one closed (write_chunk rebuilds it too if an earlier chunk moved the writer's shard).
            first = (chunk, chunk_puts) if len(router.closed) == closed_seen else None
            inserted, dropped, touched = write_chunk(org_id, chunk.events, router, usage, deadline, first, known)
            result.inserted += inserted
            result.duplicates += dropped
            if inserted:
                thresholds.check(org_id, touched, by_id, router.state)
    except NotExact as exc:
        # Only reachable past 10^10 maximal values in one customer's period (functions/events/schemas.py): the
        # sum meter stays as it is (never rounded) and the events that would overflow it are refused.
        raise ValidationFailed([field_error(["body", "events"], f"a sum meter of this customer's period "
                                            f"cannot stay exact: {exc}", "sum_not_exact")]) from exc
    return result


class WriterShard:
    """The aggregate (and bucket) shard this execution environment writes: 0 until one of its transactions finds
    an item held by another writer, then another one at random, kept for the environment's later requests. A
    Lambda environment serves one request at a time; concurrent writers are other environments, which move
    when they collide too, so that a hot customer's writers spread over the shards and stay there, while a
    customer with one writer keeps one item per aggregate."""

    def __init__(self) -> None:
        self.current = 0

    def move(self) -> None:
        self.current = random.choice([s for s in range(AGGREGATE_SHARDS) if s != self.current])


WRITER_SHARD = WriterShard()


def build_chunk(chunk: list[PreparedEvent], router: PeriodRouter, shard: int = 0) -> Chunk:
    """The chunk's updates of the aggregates' and buckets' items of `shard` (a chunk planned by build_chunks, or
    what is left of one: never more actions than it had)."""
    return build_chunks(chunk, router.event_periods, shard, limit=10**9)[0]


class KnownItems:
    """What one request knows the items its chunks condition on hold (aggregates and buckets of its shard, unique
    markers): read once, then kept as its own commits left them, so that its later chunks read only the items
    earlier ones did not touch (a 1,000-event request for one customer reads each kind once, not once per
    chunk). What another writer changed meanwhile is caught by the transaction's conditions (a closed period,
    a min/max/last moved past ours, a marker already put); a chunk that did not commit forgets what it knew and
    reads it again."""

    def __init__(self) -> None:
        self.aggregates: dict[tuple[AggregateKey, int], StoredAggregate | None] = {}
        self.buckets: dict[BucketKey, Partial | None] = {}
        self.markers: dict[tuple[AggregateKey, str], bool] = {}

    def read(self, org_id: str, usage: UsageStore, deltas: list[AggregateDelta], bucket_deltas: list[BucketDelta],
             shard: int) -> None:
        """Sets each update's prior (and new markers) from what is known, reading what is not."""
        unknown = [d.key for d in deltas if (d.key, shard) not in self.aggregates]
        if unknown:
            found = usage.read_aggregates(org_id, unknown, shard)
            self.aggregates.update(((key, shard), found.get(key)) for key in unknown)
        wanted = [(d.key, m) for d in deltas for m in sorted(d.partial.uniques) if (d.key, m) not in self.markers]
        if wanted:
            present = usage.present_markers(org_id, wanted)
            self.markers.update((marker, marker in present) for marker in wanted)
        for delta in deltas:
            delta.prior = self.aggregates[(delta.key, shard)]
            delta.new_markers = [m for m in sorted(delta.partial.uniques) if not self.markers[(delta.key, m)]]
        # Only a bucket's min, max or last is conditioned on what it holds; counts and sums are added.
        conditioned = [b.key for b in bucket_deltas if b.key not in self.buckets and (
            b.partial.minimum is not None or b.partial.maximum is not None or b.partial.last_at is not None)]
        if conditioned:
            found_buckets = usage.read_buckets(org_id, conditioned)
            self.buckets.update((key, found_buckets.get(key)) for key in conditioned)
        for bucket in bucket_deltas:
            bucket.prior = self.buckets.get(bucket.key)

    def committed(self, deltas: list[AggregateDelta], bucket_deltas: list[BucketDelta], shard: int) -> None:
        """The items as the committed chunk left them."""
        for delta in deltas:
            prior = delta.prior
            state = Partial().merge(prior.state) if prior else Partial()
            state.merge(delta.partial).uniques = set()  # markers stand for the values, as in a stored item
            customer_id, meter_id, period_key = delta.key
            self.aggregates[(delta.key, shard)] = StoredAggregate(
                customer_id, meter_id, period_key, delta.period_end, version=(prior.version if prior else 0) + 1,
                state=state, unique_count=(prior.unique_count if prior else 0) + len(delta.new_markers),
                late_count=(prior.late_count if prior else 0) + delta.late_count, shard=shard)
            self.markers.update(((delta.key, m), True) for m in delta.new_markers)
        for bucket in bucket_deltas:
            if bucket.key in self.buckets:
                self.buckets[bucket.key] = (Partial().merge(bucket.prior) if bucket.prior else Partial()
                                            ).merge(bucket.partial)

    def forget(self, deltas: list[AggregateDelta], bucket_deltas: list[BucketDelta], shard: int) -> None:
        for delta in deltas:
            self.aggregates.pop((delta.key, shard), None)
            for marker in delta.partial.uniques:
                self.markers.pop((delta.key, marker), None)
        for bucket in bucket_deltas:
            self.buckets.pop(bucket.key, None)


def write_chunk(org_id: str, chunk: list[PreparedEvent], router: PeriodRouter, usage: UsageStore = DYNAMO_USAGE,
                deadline: Deadline | None = None, built: tuple[Chunk, list[dict[str, Any]]] | None = None,
                known: KnownItems | None = None) -> tuple[int, int, list[AggregateKey]]:
    """Returns (inserted, duplicates, aggregates written). Loops until the chunk commits or nothing of it is
    left to write; a chunk a concurrent writer cancelled is retried with full-jitter backoff while the deadline
    leaves time, then refused as Contention (a 409 with Retry-After). `built`: the chunk as build_chunks made
    it and its events' puts, for the first attempt (still valid for the writer's shard and the periods known
    closed); `known`: what the request's earlier chunks read and wrote."""
    deadline = deadline or request_deadline()
    known = known or KnownItems()
    remaining = list(chunk)
    duplicates = 0
    contended = 0  # attempts a concurrent writer cancelled
    read = False  # whether records and deltas were built against what the store holds now
    while True:  # a closed period or a duplicate is progress (periods move forward, events drop out): it ends
        if not read:
            shard = WRITER_SHARD.current
            if built is not None and built[0].shard == shard:
                this, puts = built
            else:
                this, puts = build_chunk(remaining, router, shard), None
            records, deltas, bucket_deltas = this.events, this.deltas, this.buckets
            built = None
            known.read(org_id, usage, deltas, bucket_deltas, shard)
            closed = {d.key for d in deltas if d.prior is not None and d.prior.closed}
            if closed:
                router.close_all(closed)
                continue
            for delta in deltas:
                if delta.prior is not None and delta.partial.total:
                    exact_add(delta.prior.state.total, delta.partial.total)  # what DynamoDB's ADD will compute
            read = True
        try:
            outcome = usage.write_chunk(org_id, records, deltas, bucket_deltas, puts)
        except PeriodClosed as exc:  # closed between the read and the write
            router.close_all(exc.keys)
            known.forget(deltas, bucket_deltas, shard)
            read = False
            continue
        if outcome.committed:
            known.committed(deltas, bucket_deltas, shard)
            return len(records), duplicates, [d.key for d in deltas]
        known.forget(deltas, bucket_deltas, shard)
        if outcome.duplicates:
            duplicates += len(outcome.duplicates)
            remaining = [e for e in remaining if e.id not in outcome.duplicates]
            if not remaining:
                return 0, duplicates, []
            read = False
            continue
        # A concurrent writer held an item (DynamoDB's TransactionConflict): move to another shard, back off,
        # re-read it and retry; one moved a min/max/last or wrote a unique value past ours: back off, re-read,
        # retry.
        if outcome.held:
            WRITER_SHARD.move()
        read = False
        if not deadline.pause(contended):
            raise Contention("too much contention on this customer's meters; retry the request (it is idempotent)")
        contended += 1
