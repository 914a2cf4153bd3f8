"""A meter's quantities over time (Polar's MeterQuantities): one value per interval in a range, and the total.

Read from the quantity buckets ingest writes beside the aggregates (functions/store/buckets.py): hour buckets
for an hourly series, day buckets rolled up for day, week, month and year (UTC). A read costs one query per
customer it covers, returning the buckets in the range, whatever the number of events behind them. Buckets
are whole: the first and last interval count their whole hour (or day) even where the range starts or ends
inside it. A unique meter's distinct values do not add up across buckets: its quantities are counted from
the stored events, O(events) (docs/api.md, Meter quantities).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common.clock import iso, parse_iso
from functions.meters.aggregation import Partial, value_of
from functions.meters.matching import compile_meters
from functions.meters.service import as_number, get, stored_event_state
from functions.store import customers as customer_store
from functions.store.buckets import DAY, HOUR, bucket_starts, customer_buckets
from functions.store.customers import CustomerRef
from functions.store.entities import Meter
from functions.store.events import EventRecord, events_of

INTERVAL_START = {
    "hour": lambda t: t.replace(minute=0, second=0, microsecond=0),
    "day": lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0),
    "week": lambda t: (t - timedelta(days=t.weekday())).replace(hour=0, minute=0, second=0, microsecond=0),
    "month": lambda t: t.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
    "year": lambda t: t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
}


def quantities(org_id: str, meter_id: str, start: datetime, end: datetime, interval: str,
               customers: CustomerRef | None = None) -> dict[str, Any]:
    """One value per interval in [start, end], and the total, over the customers a filter names (None: every
    customer; an unknown one: nobody)."""
    meter = get(org_id, meter_id)
    ids = [c.id for c in customer_store.select(org_id, customers)]
    return meter_quantities(org_id, meter, ids, start, end, interval)


def meter_quantities(org_id: str, meter: Meter, customer_ids: list[str], start: datetime, end: datetime,
                     interval: str) -> dict[str, Any]:
    """The quantities of the customers' meter (the endpoint's, and the portal's daily chart)."""
    if meter.aggregation["func"] == "unique":
        events = events_of(org_id, set(customer_ids), iso(start), iso(end))
        return from_events(meter, events, start, end, interval)
    return series(meter, stored_buckets(org_id, customer_ids, meter.id, start, end, interval), start, end, interval)


def stored_buckets(org_id: str, customer_ids: list[str], meter_id: str, start: datetime, end: datetime,
                   interval: str) -> Iterator[tuple[datetime, Partial]]:
    """(bucket start, state) of every bucket of the customers' meter from the one holding `start` to the one
    holding `end`: hours for an hourly series, days for every other."""
    grain, index, suffix = (HOUR, 0, ":00:00+00:00") if interval == "hour" else (DAY, 1, "T00:00:00+00:00")
    first, last = bucket_starts(iso(start))[index], bucket_starts(iso(end))[index]
    for customer_id in customer_ids:
        for bucket_start, state in customer_buckets(org_id, customer_id, meter_id, grain, first, last):
            yield datetime.fromisoformat(bucket_start + suffix).astimezone(UTC), state


def from_events(meter: Meter, events: Iterable[EventRecord], start: datetime, end: datetime, interval: str
                ) -> dict[str, Any]:
    """The quantities of `meter` over stored `events` (those it does not match count nothing). Pure."""
    compiled = compile_meters([meter])
    return series(meter, ((parse_iso(e.timestamp), stored_event_state(compiled, e)) for e in events),
                  start, end, interval)


def series(meter: Meter, states: Iterable[tuple[datetime, Partial]], start: datetime, end: datetime,
           interval: str) -> dict[str, Any]:
    """States at moments (buckets or events) rolled up into one value per interval from the one holding
    `start` to the one holding `end` (empty intervals included), and the total. Pure."""
    interval_start = INTERVAL_START[interval]
    intervals: dict[datetime, Partial] = {}
    cursor = interval_start(start)
    while cursor <= end:
        intervals[cursor] = Partial()
        cursor = _advance(cursor, interval)
    total = Partial()
    for moment, state in states:
        intervals.setdefault(interval_start(moment), Partial()).merge(state)
        total.merge(state)
    func = meter.aggregation["func"]
    return {
        "quantities": [
            {"timestamp": iso(moment), "quantity": as_number(value_of(func, state))}
            for moment, state in sorted(intervals.items())
        ],
        "total": as_number(value_of(func, total)),
    }


def _advance(moment: datetime, interval: str) -> datetime:
    if interval == "hour":
        return moment + timedelta(hours=1)
    if interval == "day":
        return moment + timedelta(days=1)
    if interval == "week":
        return moment + timedelta(weeks=1)
    if interval == "month":
        return moment.replace(year=moment.year + (moment.month == 12), month=moment.month % 12 + 1)
    return moment.replace(year=moment.year + 1)
