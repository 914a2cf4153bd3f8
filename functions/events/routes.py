"""Event listing routes (the management Lambda); the ingest route is functions/events/ingest_route.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.common.clock import iso
from functions.common.errors import NotFound
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customers import service as customers
from functions.customers.schemas import customer_out
from functions.meters import service as meters
from functions.meters.filter import matches
from functions.organizations.routes import require
from functions.store import customers as customer_store
from functions.store import usage


def event_out(org_id: str, event: dict[str, Any], customer: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": event["id"],
        "timestamp": event["timestamp"],
        "organization_id": org_id,
        "customer_id": event["customer_id"],
        "customer": customer_out(customer) if customer else None,
        "external_customer_id": customer.get("external_id") if customer else None,
        "external_id": event.get("external_id"),
        "child_count": 0,
        "parent_id": None,
        "label": event["name"],
        "name": event["name"],
        "source": "user",
        "metadata": event["metadata"],
        "ingested_at": event["ingested_at"],
        "late": event["late"],
    }


def register_listing(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/events", **describe("events.Event", page=True, scope="events:read"))
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
    ) -> dict:
        org_id = require(app, "events:read").organization_id
        targets = customers.selected(org_id, customer_id, external_customer_id)
        start = iso(start_timestamp) if start_timestamp else None
        end = iso(end_timestamp) if end_timestamp else None
        meter_filter = meters.get(org_id, meter_id)["filter"] if meter_id else None
        rows = []
        by_id = {c["id"]: c for c in targets}
        for event in usage.events_of(org_id, set(by_id), start, end):
            if name and event["name"] != name:
                continue
            if meter_filter is not None and not _matches(meter_filter, event):
                continue
            rows.append(event_out(org_id, event, by_id[event["customer_id"]]))
        rows.sort(key=lambda e: (e["timestamp"], e["id"]), reverse=sorting.startswith("-"))
        return page_of(rows, page, limit)

    @app.get("/v1/events/<event_id>", **describe("events.Event", scope="events:read"))
    def get_event(event_id: str, customer_id: Annotated[str | None, Query()] = None) -> dict:
        """One read: events are keyed by organization and id. `customer_id`, when given, must be the event's."""
        org_id = require(app, "events:read").organization_id
        event = usage.get_event(org_id, event_id)
        if event is None or (customer_id and event["customer_id"] != customer_id):
            raise NotFound("event not found")
        return event_out(org_id, event, customer_store.get(org_id, event["customer_id"]))


def _matches(meter_filter: dict[str, Any], event: dict[str, Any]) -> bool:
    from functions.common.clock import parse_iso

    view = {"name": event["name"], "timestamp": parse_iso(event["timestamp"]), "metadata": event["metadata"]}
    return matches(meter_filter, view)
