"""Event listing routes (the management Lambda); the ingest route is functions/events/ingest_route.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import Json

from functions.auth.service import require
from functions.common.clock import iso
from functions.common.errors import ValidationFailed, field_error
from functions.common.listing import metadata_filter, parse_sorting
from functions.common.openapi import describe
from functions.common.pagination import encode_cursor, keyed_page, page_of
from functions.customers.schemas import customer_out
from functions.events import event_types, listing
from functions.events.schemas import EventTypeUpdate
from functions.meters.schemas import BoundedFilter
from functions.store.customers import CustomerRef
from functions.store.entities import Customer
from functions.store.events import EventRecord


def event_out(org_id: str, event: EventRecord, customer: Customer | None) -> dict[str, Any]:
    return {
        "id": event.id,
        "timestamp": event.timestamp,
        "organization_id": org_id,
        "customer_id": event.customer_id,
        "customer": customer_out(customer) if customer else None,
        "external_customer_id": customer.external_id if customer else None,
        "external_id": event.external_id,
        "child_count": 0,
        "parent_id": None,
        "label": event.name,
        "name": event.name,
        "source": "user",
        "metadata": event.metadata,
        "ingested_at": event.ingested_at,
        "late": event.late,
    }


def _sources(source: list[str] | None) -> list[str] | None:
    """Polar's `source` filter, repeated or comma-separated."""
    sources = ",".join(source).split(",") if source else None
    for one in sources or []:
        if one not in ("user", "system"):
            raise ValidationFailed([field_error(["query", "source"], "one of user, system", "enum")])
    return sources


def register_listing(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/events", **describe("events.Event", page=True, scope="events:read", metadata_filter=True))
    def list_events(
        customer_id: Annotated[str | None, Query()] = None,
        external_customer_id: Annotated[str | None, Query()] = None,
        name: Annotated[str | None, Query()] = None,
        meter_id: Annotated[str | None, Query()] = None,
        start_timestamp: Annotated[datetime | None, Query()] = None,
        end_timestamp: Annotated[datetime | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[str, Query()] = "-timestamp",
        filter: Annotated[Json[BoundedFilter] | None,  # noqa: A002 (Polar's parameter name)
                          Query(description="a meter filter, as JSON: the events it matches")] = None,
        cursor: Annotated[str | None, Query(description="Meterbill: `pagination.next_cursor` of the page before "
                                                        "(one customer's events); `page` is then ignored")] = None,
    ) -> dict:
        """Also filters on `metadata[key]=value` (repeat a key for any of several values).

        One customer's events (`customer_id` or `external_customer_id`) are read by key, newest or oldest first:
        a page costs the same however many events the customer has, `pagination.next_cursor` continues it, and
        `total_count` counts only up to one past this page. Without a customer the organization's events in
        the range are read and counted."""
        org_id = require(app, "events:read").organization_id
        start = iso(start_timestamp) if start_timestamp else None
        end = iso(end_timestamp) if end_timestamp else None
        ref = CustomerRef.optional(customer_id, external_customer_id)
        query = listing.EventQuery(org_id, name, meter_id, filter.model_dump() if filter else None,
                                   metadata_filter(app.current_event.raw_query_string))
        newest_first = sorting.startswith("-")
        if ref is None:
            rows = listing.list_events(org_id, None, query, start, end, newest_first)
            return page_of([event_out(org_id, event, customer) for event, customer in rows], page, limit)
        after = listing.cursor_position(cursor) if cursor else None
        skip = 0 if after else (page - 1) * limit
        customer, found = listing.customer_event_page(org_id, ref, query, limit, skip=skip,
                                                      after=after,
                                                      start=start, end=end, newest_first=newest_first)
        last = found.last
        return keyed_page([event_out(org_id, event, customer) for event in found.events], page, skip, found.more,
                          encode_cursor(*last) if last else None)

    @app.get("/v1/event-types", **describe("events.EventTypeWithStats", page=True, scope="events:read"))
    def list_event_types(
        customer_id: Annotated[str | None, Query()] = None,
        external_customer_id: Annotated[str | None, Query()] = None,
        query: Annotated[str | None, Query(description="a case-insensitive part of the name or the label")] = None,
        root_events: Annotated[bool, Query(description="Meterbill's events have no parents: every event is a "
                                                       "root event, so this changes nothing")] = False,
        source: Annotated[list[str] | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="name, label, occurrences, first_seen, last_seen; "
                                                         "`-` descends. Default: -last_seen")] = None,
    ) -> dict:
        """Polar's event types with their statistics, one per event name."""
        org_id = require(app, "events:read").organization_id
        sources = _sources(source)
        keys = parse_sorting(sorting, listing.NAME_SORT_KEYS + ("label",), "-last_seen")
        rows = event_types.list_event_types(org_id, CustomerRef.optional(customer_id, external_customer_id),
                                            query, sources, keys)
        return page_of(rows, page, limit)

    @app.patch("/v1/event-types/<event_type_id>", **describe("events.EventType", scope="events:write", body=True,
                                                             write=True))
    def update_event_type(event_type_id: str, body: Annotated[EventTypeUpdate, Body()]) -> dict:
        """Polar's label change (the name, which events carry, stays)."""
        org_id = require(app, "events:write").organization_id
        return event_types.set_label(org_id, event_type_id, body.label, body.label_property_selector)

    @app.get("/v1/events/names", **describe("events.EventName", page=True, scope="events:read"))
    def list_event_names(
        organization_id: Annotated[list[str] | None, Query()] = None,
        customer_id: Annotated[str | None, Query()] = None,
        external_customer_id: Annotated[str | None, Query()] = None,
        source: Annotated[list[str] | None, Query(description="user or system (Meterbill holds user events only); "
                                                 "several comma-separated or repeated")] = None,
        query: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="name, occurrences, first_seen, last_seen; `-` "
                                                         "descends; several applied in order. Default: -last_seen")
                           ] = None,
    ) -> dict:
        """Polar's event names: each name with its occurrences and first and last timestamps."""
        org_id = require(app, "events:read").organization_id
        if organization_id is not None and org_id not in ",".join(organization_id).split(","):
            return page_of([], page, limit)
        sources = _sources(source)
        keys = parse_sorting(sorting, listing.NAME_SORT_KEYS, "-last_seen")
        rows = listing.event_names(org_id, CustomerRef.optional(customer_id, external_customer_id), sources, query,
                                   keys)
        return page_of(rows, page, limit)

    @app.get("/v1/events/<event_id>", **describe("events.Event", scope="events:read"))
    def get_event(event_id: str, customer_id: Annotated[str | None, Query()] = None) -> dict:
        """One read: events are keyed by organization and id. `customer_id`, when given, must be the event's."""
        org_id = require(app, "events:read").organization_id
        return event_out(org_id, *listing.get_event(org_id, event_id, customer_id))
