"""Reading stored events back: the listing (per customer, name, meter and time range) and one event by id.
Apart from functions/events/service.py (ingest) so that the ingest Lambda does not load it."""

from __future__ import annotations

from typing import Any

from functions.common.clock import parse_iso
from functions.common.errors import NotFound
from functions.common.listing import SortKeys, metadata_matches, sort_rows
from functions.common.pagination import decode_cursor
from functions.meters import service as meters
from functions.meters.filter import matches
from functions.store import customers as customer_store
from functions.store import events as store
from functions.store.customers import CustomerRef
from functions.store.entities import Customer
from functions.store.events import EventPage, EventRecord, Position


def _matches(meter_filter: dict[str, Any], event: EventRecord) -> bool:
    view = {"name": event.name, "timestamp": parse_iso(event.timestamp), "metadata": event.metadata}
    return matches(meter_filter, view)


class EventQuery:
    """What a listing keeps: the name, the meter's filter, a given filter and metadata values (each optional)."""

    def __init__(self, org_id: str, name: str | None = None, meter_id: str | None = None,
                 event_filter: dict[str, Any] | None = None, metadata: dict[str, list[str]] | None = None) -> None:
        self.name = name or None
        self.filters = [f for f in (meters.get(org_id, meter_id).filter if meter_id else None, event_filter)
                        if f is not None]
        self.metadata = metadata

    def keeps(self, event: EventRecord) -> bool:
        if self.name and event.name != self.name:
            return False
        if any(not _matches(f, event) for f in self.filters):
            return False
        return not self.metadata or metadata_matches(event.metadata, self.metadata)


def list_events(org_id: str, customers: CustomerRef | None, query: EventQuery, start: str | None = None,
                end: str | None = None, newest_first: bool = True) -> list[tuple[EventRecord, Customer]]:
    """(event, its customer) in [start, end) of the customers a filter names (None: every customer) that the
    query keeps. Reads the organization's events in the range (store.events_of): one customer's are read by
    key instead, with customer_event_page."""
    by_id = {c.id: c for c in customer_store.select(org_id, customers)}
    rows = [(event, by_id[event.customer_id]) for event in store.events_of(org_id, set(by_id), start, end)
            if query.keeps(event)]
    rows.sort(key=lambda row: (row[0].timestamp, row[0].id), reverse=newest_first)
    return rows


def cursor_position(cursor: str) -> Position:
    """The position a listing's `next_cursor` names: the last event of the page it followed."""
    timestamp, event_id = decode_cursor(cursor, 2)
    return timestamp, event_id


def customer_event_page(org_id: str, ref: CustomerRef, query: EventQuery, limit: int, *, skip: int = 0,
                        after: Position | None = None, start: str | None = None, end: str | None = None,
                        newest_first: bool = True) -> tuple[Customer | None, EventPage]:
    """The customer `ref` names (None: no such customer, no events) and one page of its events that the query
    keeps, read by key from the listing index: its cost is that of the events read up to the page's end,
    whatever the number the customer has."""
    found = customer_store.select(org_id, ref)
    if not found:
        return None, EventPage([], more=False)
    [customer] = found
    return customer, store.customer_event_page(customer.id, limit, newest_first=newest_first, start=start,
                                               end=end, after=after, skip=skip, keep=query.keeps, name=query.name)


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
