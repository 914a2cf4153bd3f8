"""Reading stored events back: the listing (per customer, name, meter and time range) and one event by id.
Apart from functions/events/service.py (ingest) so that the ingest Lambda does not load it."""

from __future__ import annotations

from typing import Any

from functions.common.clock import parse_iso
from functions.common.errors import NotFound
from functions.common.listing import SortKeys, metadata_matches, sort_rows
from functions.meters import service as meters
from functions.meters.filter import matches
from functions.store import customers as customer_store
from functions.store import events as store
from functions.store.customers import CustomerRef
from functions.store.entities import Customer
from functions.store.events import EventRecord


def _matches(meter_filter: dict[str, Any], event: EventRecord) -> bool:
    view = {"name": event.name, "timestamp": parse_iso(event.timestamp), "metadata": event.metadata}
    return matches(meter_filter, view)


def list_events(org_id: str, customers: CustomerRef | None = None, name: str | None = None,
                meter_id: str | None = None, start: str | None = None, end: str | None = None,
                newest_first: bool = True, event_filter: dict[str, Any] | None = None,
                metadata: dict[str, list[str]] | None = None) -> list[tuple[EventRecord, Customer]]:
    """(event, its customer) in [start, end) of the customers a filter names (None: every customer), with the
    name, matching the meter's filter, the given filter and the metadata values, when given."""
    by_id = {c.id: c for c in customer_store.select(org_id, customers)}
    meter_filter = meters.get(org_id, meter_id).filter if meter_id else None
    rows = []
    for event in store.events_of(org_id, set(by_id), start, end):
        if name and event.name != name:
            continue
        if meter_filter is not None and not _matches(meter_filter, event):
            continue
        if event_filter is not None and not _matches(event_filter, event):
            continue
        if metadata and not metadata_matches(event.metadata, metadata):
            continue
        rows.append((event, by_id[event.customer_id]))
    rows.sort(key=lambda row: (row[0].timestamp, row[0].id), reverse=newest_first)
    return rows


NAME_SORT_KEYS = ("name", "occurrences", "first_seen", "last_seen")


def event_names(org_id: str, customers: CustomerRef | None = None, source: list[str] | None = None,
                query: str | None = None, sorting: SortKeys | None = None) -> list[dict[str, Any]]:
    """Polar's event names: each name of the customers' events with its count and first and last timestamps.
    Every event Meterbill holds is a `user` event (ingested), so `source` ["system"] selects none."""
    if source and "user" not in source:
        return []
    by_id = {c.id for c in customer_store.select(org_id, customers)}
    names: dict[str, dict[str, Any]] = {}
    for event in store.events_of(org_id, by_id, None, None):
        if query and query.lower() not in event.name.lower():
            continue
        row = names.get(event.name)
        if row is None:
            names[event.name] = {"name": event.name, "label": event.name, "source": "user", "occurrences": 1,
                                 "first_seen": event.timestamp, "last_seen": event.timestamp}
            continue
        row["occurrences"] += 1
        row["first_seen"] = min(row["first_seen"], event.timestamp)
        row["last_seen"] = max(row["last_seen"], event.timestamp)
    rows = sorted(names.values(), key=lambda r: r["name"])
    return sort_rows(rows, sorting or [("last_seen", True)], lambda r, key: r[key])


def get_event(org_id: str, event_id: str, customer_id: str | None = None
              ) -> tuple[EventRecord, Customer | None]:
    """One read: events are keyed by organization and id. `customer_id`, when given, must be the event's."""
    event = store.get_event(org_id, event_id)
    if event is None or (customer_id and event.customer_id != customer_id):
        raise NotFound("event not found")
    return event, customer_store.get(org_id, event.customer_id)
