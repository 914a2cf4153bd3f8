"""Customer meter routes (Polar's /v1/customer-meters/)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.auth.service import require
from functions.common.listing import parse_sorting
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customer_meters import service
from functions.customers.schemas import customer_out
from functions.meters.schemas import meter_out
from functions.store.customers import CustomerRef
from functions.store.entities import Customer


def customer_meter_out(row: service.CustomerMeter, customer: Customer) -> dict[str, Any]:
    return {**row.numbers(), "customer": customer_out(customer), "meter": meter_out(row.meter)}


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/customer-meters", **describe("customer_meters.CustomerMeter", page=True,
                                                 scope="customer_meters:read"))
    def list_customer_meters(
        customer_id: Annotated[str | None, Query()] = None,
        external_customer_id: Annotated[str | None, Query()] = None,
        meter_id: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="created_at, modified_at, customer_id, customer_name, "
                                                  "meter_id, meter_name, consumed_units, credited_units, balance; "
                                                  "`-` descends; several comma-separated or repeated. Default: the "
                                                  "customers' order")] = None,
    ) -> dict:
        org_id = require(app, "customer_meters:read").organization_id
        ref = CustomerRef.optional(customer_id, external_customer_id)
        keys = parse_sorting(sorting, service.SORT_KEYS, "")
        rows = [customer_meter_out(row, customer)
                for row, customer in service.list_customer_meters(org_id, ref, meter_id, keys)]
        return page_of(rows, page, limit)

    @app.get("/v1/customer-meters/<customer_meter_id>", **describe("customer_meters.CustomerMeter",
                                                                     scope="customer_meters:read"))
    def get_customer_meter(customer_meter_id: str) -> dict:
        org_id = require(app, "customer_meters:read").organization_id
        return customer_meter_out(*service.get_customer_meter(org_id, customer_meter_id))
