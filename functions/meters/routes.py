"""Meter routes (Polar's /v1/meters/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.auth.service import require
from functions.common.errors import ValidationFailed, field_error
from functions.common.http import json_response
from functions.common.listing import metadata_filter, parse_sorting
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.meters import service
from functions.meters.quantities import quantities
from functions.meters.schemas import MeterCreate, MeterUpdate, meter_out
from functions.store.customers import CustomerRef

# A quantities read answers one bucket per interval: bounded, so that no range makes a response larger than
# Lambda can return (6 MB) or a date the calendar cannot hold.
MAX_BUCKETS = 10_000
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
INTERVAL_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1),
                   "month": timedelta(days=28), "year": timedelta(days=365)}


def check_quantities_range(start: datetime, end: datetime, interval: str) -> None:
    for name, moment in (("start_timestamp", start), ("end_timestamp", end)):
        if not EARLIEST <= moment < LATEST:
            raise ValidationFailed([field_error(["query", name], "must be between 1970 and 9000")])
    if (end - start) / INTERVAL_LENGTH[interval] > MAX_BUCKETS:
        raise ValidationFailed([field_error(["query", "interval"], f"the range holds more than {MAX_BUCKETS} "
                                            f"intervals of a {interval}: use a longer interval or a shorter range")])


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/meters", **describe("meters.Meter", status=201, scope="meters:write", body=True, write=True))
    def create_meter(body: Annotated[MeterCreate, Body()]):
        org_id = require(app, "meters:write").organization_id
        if body.organization_id and body.organization_id != org_id:
            raise ValidationFailed([field_error(["body", "organization_id"], "must be the token's organization")])
        return json_response(201, meter_out(service.create(org_id, body)))

    @app.get("/v1/meters", **describe("meters.Meter", page=True, scope="meters:read", metadata_filter=True))
    def list_meters(
        query: Annotated[str | None, Query()] = None,
        is_archived: Annotated[bool | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="created_at, name; `-` descends; several applied in "
                                                         "order. Default: created_at")] = None,
    ) -> dict:
        """Also filters on `metadata[key]=value` (repeat a key for any of several values)."""
        org_id = require(app, "meters:read").organization_id
        rows = service.list_meters(org_id, include_archived=bool(is_archived), query=query,
                                   sorting=parse_sorting(sorting, service.SORT_KEYS, "created_at"),
                                   metadata=metadata_filter(app.current_event.raw_query_string))
        if is_archived:
            rows = [m for m in rows if m.archived_at]
        return page_of([meter_out(m) for m in rows], page, limit)

    @app.get("/v1/meters/<meter_id>", **describe("meters.Meter", scope="meters:read"))
    def get_meter(meter_id: str) -> dict:
        org_id = require(app, "meters:read").organization_id
        return meter_out(service.get(org_id, meter_id))

    @app.patch("/v1/meters/<meter_id>", **describe("meters.Meter", scope="meters:write", body=True, write=True))
    def update_meter(meter_id: str, body: Annotated[MeterUpdate, Body()]) -> dict:
        org_id = require(app, "meters:write").organization_id
        return meter_out(service.update(org_id, meter_id, body))

    @app.get("/v1/meters/<meter_id>/quantities", **describe("meters.MeterQuantities", scope="meters:read"))
    def meter_quantities(
        meter_id: str,
        start_timestamp: Annotated[datetime, Query()],
        end_timestamp: Annotated[datetime, Query()],
        interval: Annotated[Literal["hour", "day", "week", "month", "year"], Query()] = "day",
        customer_id: Annotated[str | None, Query()] = None,
        external_customer_id: Annotated[str | None, Query()] = None,
        timezone: Annotated[str, Query(description="buckets are UTC days, weeks, months and years; another "
                                                   "timezone is refused")] = "UTC",
    ) -> dict:
        org_id = require(app, "meters:read").organization_id
        if timezone not in ("UTC", "Etc/UTC"):
            raise ValidationFailed([field_error(["query", "timezone"], "Meterbill buckets in UTC only")])
        if start_timestamp.tzinfo is None or end_timestamp.tzinfo is None:
            raise ValidationFailed([field_error(["query", "start_timestamp"], "timestamps must carry a timezone")])
        if end_timestamp < start_timestamp:
            raise ValidationFailed([field_error(["query", "end_timestamp"], "must not be before start_timestamp")])
        check_quantities_range(start_timestamp, end_timestamp, interval)
        ref = CustomerRef.optional(customer_id, external_customer_id)
        return quantities(org_id, meter_id, start_timestamp, end_timestamp, interval, ref)
