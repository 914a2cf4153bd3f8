"""Meters: create (with a backfill of the open period), update, archive. Quantities: meters/quantities.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import Conflict, NotFound, PeriodClosed
from functions.common.ids import new_id
from functions.common.listing import SortKeys, metadata_matches, sort_rows
from functions.meters.aggregation import Partial, exact_subtract, exactly
from functions.meters.matching import MeterGroup, compile_meters, event_state
from functions.meters.periods import Period, customer_period
from functions.store import aggregates, buckets, markers
from functions.store import customers as customer_store
from functions.store import meters as store
from functions.store.aggregates import AggregateKey, StoredAggregate
from functions.store.buckets import DAY, HOUR, bucket_starts
from functions.store.entities import Meter
from functions.store.events import EventRecord, events_of

if TYPE_CHECKING:  # the request models, validated by the management routes: the Lambdas that only read
    # meters (portal, cycle close) need none of them
    from functions.meters.schemas import MeterCreate, MeterUpdate


def create(org_id: str, body: MeterCreate) -> Meter:
    meter = Meter(
        id=new_id(),
        organization_id=org_id,
        seq=store.next_sequence(org_id),
        name=body.name,
        unit=body.unit,
        custom_label=body.custom_label,
        custom_multiplier=body.custom_multiplier,
        filter=body.filter.model_dump(),
        aggregation=body.aggregation.model_dump(),
        metadata=body.metadata,
        thresholds=[t.model_dump() for t in body.thresholds],
        backfill_pending=True,
        created_at=iso(utcnow()),
    )
    store.put(org_id, meter)
    backfill(org_id, meter)
    return meter


def get(org_id: str, meter_id: str) -> Meter:
    meter = store.get(org_id, meter_id)
    if meter is None:
        raise NotFound("meter not found")
    return meter


SORT_KEYS = ("created_at", "name")


def list_meters(org_id: str, *, include_archived: bool = False, query: str | None = None,
                sorting: SortKeys | None = None, metadata: dict[str, list[str]] | None = None
                ) -> list[Meter]:
    """Oldest first unless `sorting` says otherwise (Polar's keys: created_at, name); `metadata` keeps the meters
    whose metadata has, for every key, one of its values."""
    meters = store.list_all(org_id)
    if not include_archived:
        meters = [m for m in meters if not m.archived_at]
    if query:
        meters = [m for m in meters if query.lower() in m.name.lower()]
    if metadata:
        meters = [m for m in meters if metadata_matches(m.metadata, metadata)]
    meters = sorted(meters, key=lambda m: (m.created_at, m.id))
    return sort_rows(meters, sorting or [], getattr)


def update(org_id: str, meter_id: str, body: MeterUpdate) -> Meter:
    meter = get(org_id, meter_id)
    changes = body.model_dump(exclude_unset=True, exclude={"is_archived"})
    if body.thresholds is not None:
        changes["thresholds"] = [t.model_dump() for t in body.thresholds]
    changes = {k: v for k, v in changes.items() if v is not None or k in ("custom_label", "custom_multiplier")}
    if body.is_archived is not None:
        changes["archived_at"] = (meter.archived_at or iso(utcnow())) if body.is_archived else None
    meter = replace(meter, **changes, modified_at=iso(utcnow()))
    store.put(org_id, meter)
    return meter


def stored_event_state(compiled: list[MeterGroup], event: EventRecord) -> Partial:
    """What one stored event contributes to the (single) compiled meter."""
    view = {"name": event.name, "timestamp": parse_iso(event.timestamp), "metadata": event.metadata}
    with exactly():
        return event_state(compiled, view, event.timestamp, event.id)


def recompute(meter: Meter, events: list[EventRecord]) -> Partial:
    """The meter's state over stored events, from scratch (backfill and audit)."""
    compiled = compile_meters([meter])
    state = Partial()
    for event in events:
        state.merge(stored_event_state(compiled, event))
    return state


def backfill(org_id: str, meter: Meter) -> int:
    """Count, in each customer's open periods, the stored events ingested without this meter.

    Events remember the highest meter sequence they were matched against (`meter_seq`); those below this
    meter's were not counted by ingest. The backfill recomputes them per period and adds what previous
    backfills of the meter have not added yet, so running it again is harmless: the catch-up run (a few minutes
    after creation, by the cycle-close Lambda) counts the events of ingest requests that loaded the meter list
    just before the meter existed and committed after the first backfill read the events. Their quantity
    buckets are written whole beside ingest's (functions/store/buckets.py): a rerun recomputes the same
    events and writes the same, or more.
    """
    written = 0
    # One pass over the organization's events (they are keyed by organization), grouped by customer and period.
    # An event ingested before the meter existed went in the customer's primary periods (`period_key`); a meter
    # another subscription prices counts it in that subscription's period containing its timestamp.
    by_customer: dict[str, list[EventRecord]] = defaultdict(list)
    for event in events_of(org_id, None, iso(utcnow() - timedelta(days=40))):
        if event.meter_seq < meter.seq:
            by_customer[event.customer_id].append(event)
    compiled = compile_meters([meter])
    for customer in customer_store.list_all(org_id):
        if meter.aggregation["func"] != "unique" and by_customer.get(customer.id):
            buckets.put_backfill_buckets(org_id, customer.id, meter.id,
                                         event_buckets(compiled, by_customer[customer.id]))
        state_of_meter = customer.billing_for(meter.id)
        own_cycle = state_of_meter is not customer.primary_billing()
        by_period: dict[str, list[EventRecord]] = defaultdict(list)
        for event in by_customer.get(customer.id, []):
            period_key = (customer_period(state_of_meter, parse_iso(event.timestamp))[0].key if own_cycle
                          else event.period_key)
            by_period[period_key].append(event)
        for period_key, period_events in by_period.items():
            state = recompute(meter, period_events)
            if state.count or state.uniques:
                key = (customer.id, meter.id, period_key)
                period, _ = customer_period(state_of_meter, parse_iso(period_key))
                written += _backfill_aggregate(org_id, key, period, state)
    return written


def event_buckets(compiled: list[MeterGroup], events: list[EventRecord]) -> dict[tuple[str, str], Partial]:
    """(grain, start) -> what the events contribute to the meter's hour and day buckets. Pure."""
    found: dict[tuple[str, str], Partial] = {}
    for event in events:
        state = stored_event_state(compiled, event)
        if state.count:
            hour, day = bucket_starts(event.timestamp)
            found.setdefault((HOUR, hour), Partial()).merge(state)
            found.setdefault((DAY, day), Partial()).merge(state)
    return found


def _backfill_aggregate(org_id: str, key: AggregateKey, period: Period, state: Partial) -> int:
    """Add what the backfilled state has beyond earlier backfills to whatever ingest wrote meanwhile; retried
    if ingest moves the version. Min, max, last and unique values merge idempotently; count and sum add the
    difference."""
    if state.uniques:
        markers.put_markers(org_id, key, sorted(state.uniques))
    for _ in range(10):
        existing = aggregates.read_aggregates(org_id, [key]).get(key)
        if existing and existing.closed:
            return 0
        before = existing or StoredAggregate(key[0], key[1], key[2], iso(period.end))
        extra_count = state.count - before.backfilled_count
        extra_total = exact_subtract(state.total, before.backfilled_total)
        merged = Partial().merge(before.state)
        merged.merge(Partial(count=extra_count, total=extra_total, minimum=state.minimum, maximum=state.maximum,
                             last_value=state.last_value, last_at=state.last_at))
        unique_count = markers.count_markers(org_id, key) if state.uniques else before.unique_count
        if existing and (extra_count, extra_total, unique_count) == (0, 0, existing.unique_count) and (
                merged.minimum, merged.maximum, merged.last_at) == (
                existing.state.minimum, existing.state.maximum, existing.state.last_at):
            return 0  # nothing new since the last backfill
        aggregate = StoredAggregate(
            customer_id=key[0], meter_id=key[1], period_key=key[2], period_end=iso(period.end),
            version=before.version + 1, state=merged, late_count=before.late_count,
            # Markers are counted, not added: ingest skips a marker backfill already wrote, so the count of
            # marker items is the number of distinct values whoever wrote them.
            unique_count=unique_count, backfilled_count=state.count, backfilled_total=state.total,
        )
        try:
            aggregates.put_aggregate(org_id, aggregate, existing.version if existing else None)
            return 1
        except PeriodClosed:
            return 0  # closed since the read: invoiced as it was, like a period found closed above
        except Conflict:
            continue
    raise Conflict("backfill kept racing ingest; it is retried by the catch-up run")


CATCH_UP_AFTER = timedelta(minutes=2)  # longer than an ingest request can last (API Gateway stops at 30 s)


def catch_up_backfills(now: datetime, has_time: Callable[[], bool] = lambda: True) -> int:
    """Backfill again the meters created at least CATCH_UP_AFTER ago whose catch-up has not run, while
    `has_time()` (the rest in the next run)."""
    done = 0
    for org_id, meter_id in store.pending_backfills(iso(now - CATCH_UP_AFTER)):
        if not has_time():
            break
        meter = store.get(org_id, meter_id)
        if meter is None:
            continue
        backfill(org_id, meter)
        store.put(org_id, replace(meter, backfill_pending=False))
        done += 1
    return done


def as_number(value: Decimal) -> int | float:
    """JSON numbers for the API (Polar's types are float); exact integers stay integers."""
    return int(value) if value == value.to_integral_value() else float(value)
