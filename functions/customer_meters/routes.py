"""Customer meter routes (Polar's /v1/customer-meters/)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.common.errors import NotFound
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customer_meters.service import customer_meters, split_customer_meter_id
from functions.customers import service as customers
from functions.customers.schemas import customer_out
from functions.meters.schemas import meter_out
from functions.organizations.routes import require
from functions.store import meters as meter_store


def customer_meter_out(row: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    meter = row.pop("_meter")
    return {**row, "customer": customer_out(customer), "meter": meter_out(meter)}


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/customer-meters", **describe("customer_meters.CustomerMeter", page=True,
                                                 scope="customer_meters:read"))
    def list_customer_meters(
        customer_id: Annotated[str | None, Query()] = None,
        external_customer_id: Annotated[str | None, Query()] = None,
        meter_id: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict:
        org_id = require(app, "customer_meters:read").organization_id
        targets = customers.selected(org_id, customer_id, external_customer_id)
        meters = {m["id"]: m for m in meter_store.list_all(org_id)}
        rows = []
        for customer in targets:
            for row in customer_meters(org_id, customer, meters):
                if meter_id is None or row["meter_id"] == meter_id:
                    rows.append(customer_meter_out(row, customer))
        return page_of(rows, page, limit)

    @app.get("/v1/customer-meters/<customer_meter_id>", **describe("customer_meters.CustomerMeter",
                                                                     scope="customer_meters:read"))
    def get_customer_meter(customer_meter_id: str) -> dict:
        org_id = require(app, "customer_meters:read").organization_id
        customer_id, meter_id = split_customer_meter_id(customer_meter_id)
        customer = customers.get(org_id, customer_id)
        meters = {m["id"]: m for m in meter_store.list_all(org_id)}
        for row in customer_meters(org_id, customer, meters):
            if row["meter_id"] == meter_id:
                return customer_meter_out(row, customer)
        raise NotFound("customer meter not found")
