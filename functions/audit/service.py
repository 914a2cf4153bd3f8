"""The audit: recompute every aggregate and quantity bucket of an organization from its stored events and
report differences."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from functions.common.clock import iso, parse_iso, utcnow
from functions.meters.aggregation import Partial
from functions.meters.matching import compile_meters
from functions.meters.periods import calendar_month
from functions.meters.service import event_buckets, recompute
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store.aggregates import customer_aggregates
from functions.store.buckets import DAY, HOUR, bucket_starts, customer_buckets
from functions.store.entities import Meter
from functions.store.events import EventRecord, events_of


@dataclass
class Difference:
    customer_id: str
    meter_id: str
    period_key: str
    field: str
    stored: Any
    recomputed: Any


def audit(org_id: str, lookback_days: int = 40) -> list[Difference]:
    """Periods from the meter's creation month on (older closed periods were never the meter's to count)."""
    meters = meter_store.list_all(org_id)
    differences: list[Difference] = []
    since = iso(utcnow() - timedelta(days=lookback_days))
    # One pass over the organization's events (keyed by organization), grouped by customer; then, per meter, by
    # the period that meter counted each in (a customer's subscriptions can bill meters on different cycles).
    by_customer: dict[str, list[EventRecord]] = defaultdict(list)
    for event in events_of(org_id, None, since):
        by_customer[event.customer_id].append(event)
    for customer in customer_store.list_all(org_id):
        stored = {(a.meter_id, a.period_key): a for a in customer_aggregates(org_id, customer.id)}
        for meter in meters:
            events_by_period: dict[str, list[EventRecord]] = defaultdict(list)
            for event in by_customer.get(customer.id, []):
                events_by_period[event.period_of(meter.id)].append(event)
            first_period = calendar_month(parse_iso(meter.created_at)).key
            periods = {p for p in events_by_period if p >= first_period}
            periods |= {p for (m, p) in stored if m == meter.id and p >= since[:10]}
            for period_key in sorted(periods):
                expected = recompute(meter, events_by_period.get(period_key, []))
                aggregate = stored.get((meter.id, period_key))
                actual = aggregate.state if aggregate else None
                pairs = {
                    "count": (actual.count if actual else 0, expected.count),
                    "total": (actual.total if actual else 0, expected.total),
                    "minimum": (actual.minimum if actual else None, expected.minimum),
                    "maximum": (actual.maximum if actual else None, expected.maximum),
                    "last_value": (actual.last_value if actual else None, expected.last_value),
                    "unique_count": (aggregate.unique_count if aggregate else 0, len(expected.uniques)),
                }
                for field, (got, want) in pairs.items():
                    if got != want:
                        differences.append(Difference(customer.id, meter.id, period_key, field, got, want))
            if meter.aggregation["func"] != "unique":
                differences += bucket_differences(org_id, customer.id, meter, by_customer.get(customer.id, []),
                                                  since)
    return differences


def bucket_differences(org_id: str, customer_id: str, meter: Meter, events: list[EventRecord], since: str
                       ) -> list[Difference]:
    """The customer's hour and day buckets of the meter after the ones holding `since` (those hold events from
    before the events read), against the buckets recomputed from the events. Named "H#{start}" / "D#{start}"
    in the period column."""
    expected = event_buckets(compile_meters([meter]), events)
    differences = []
    for grain in (HOUR, DAY):
        boundary = bucket_starts(since)[0 if grain == HOUR else 1]
        stored: dict[str, Partial] = defaultdict(Partial)
        for start, state in customer_buckets(org_id, customer_id, meter.id, grain, boundary, "9999"):
            stored[start].merge(state)  # ingest's item and the backfill's
        starts = {s for s in stored if s > boundary} | {s for g, s in expected if g == grain and s > boundary}
        for start in sorted(starts):
            got, want = stored.get(start, Partial()), expected.get((grain, start), Partial())
            for field in ("count", "total", "minimum", "maximum", "last_value"):
                if getattr(got, field) != getattr(want, field):
                    differences.append(Difference(customer_id, meter.id, f"{grain}#{start}", field,
                                                  getattr(got, field), getattr(want, field)))
    return differences
