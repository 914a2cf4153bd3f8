"""Customer routes (Polar's /v1/customers/), including the customer state with its active meters."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.common.http import json_response
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customer_meters.service import customer_meters
from functions.customers import service
from functions.customers.schemas import CustomerCreate, CustomerUpdate, customer_out
from functions.organizations.routes import require
from functions.store import customers as store
from functions.store import meters as meter_store
from functions.store import thresholds as threshold_store


def customer_state(org_id: str, customer: dict[str, Any]) -> dict[str, Any]:
    meters = {m["id"]: m for m in meter_store.list_all(org_id)}
    active_rows = customer_meters(org_id, customer, meters)
    active = [
        {k: row[k] for k in ("id", "created_at", "modified_at", "meter_id", "consumed_units", "credited_units",
                             "balance")}
        for row in active_rows
    ]
    periods = {row["meter_id"]: row["period_start"] for row in active_rows}
    crossed = [
        {k: c[k] for k in ("meter_id", "threshold_id", "threshold", "period_start", "crossed_at", "consumed_units")}
        for c in threshold_store.for_customer(org_id, customer["id"])
        if periods.get(c["meter_id"]) == c["period_start"]
    ]
    return {**customer_out(customer), "active_subscriptions": [], "granted_benefits": [], "active_meters": active,
            "crossed_thresholds": crossed}


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/customers", **describe("customers.Customer", status=201, scope="customers:write", body=True,
                                              write=True))
    def create_customer(body: Annotated[CustomerCreate, Body()]):
        org_id = require(app, "customers:write").organization_id
        fields = body.model_dump()
        customer = service.create(org_id, **fields)
        return json_response(201, customer_out(customer))

    @app.get("/v1/customers", **describe("customers.Customer", page=True, scope="customers:read"))
    def list_customers(
        email: Annotated[str | None, Query()] = None,
        query: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict:
        org_id = require(app, "customers:read").organization_id
        rows = store.list_all(org_id)
        if email:
            rows = [c for c in rows if (c.get("email") or "").lower() == email.lower()]
        if query:
            q = query.lower()
            rows = [c for c in rows if q in " ".join(str(c.get(k) or "") for k in ("email", "name",
                                                                                    "external_id")).lower()]
        rows.sort(key=lambda c: c["created_at"], reverse=True)
        return page_of([customer_out(c) for c in rows], page, limit)

    @app.get("/v1/customers/<customer_id>", **describe("customers.Customer", scope="customers:read"))
    def get_customer(customer_id: str) -> dict:
        org_id = require(app, "customers:read").organization_id
        return customer_out(service.get(org_id, customer_id))

    @app.get("/v1/customers/external/<external_id>", **describe("customers.Customer", scope="customers:read"))
    def get_customer_external(external_id: str) -> dict:
        org_id = require(app, "customers:read").organization_id
        return customer_out(service.get_by_external_id(org_id, external_id))

    @app.patch("/v1/customers/<customer_id>", **describe("customers.Customer", scope="customers:write", body=True,
                                                             write=True))
    def update_customer(customer_id: str, body: Annotated[CustomerUpdate, Body()]) -> dict:
        org_id = require(app, "customers:write").organization_id
        return customer_out(service.update(org_id, customer_id, body.model_dump(exclude_unset=True)))

    @app.patch("/v1/customers/external/<external_id>", **describe("customers.Customer", scope="customers:write",
                                                                      body=True, write=True))
    def update_customer_external(external_id: str, body: Annotated[CustomerUpdate, Body()]) -> dict:
        org_id = require(app, "customers:write").organization_id
        customer = service.get_by_external_id(org_id, external_id)
        return customer_out(service.update(org_id, customer["id"], body.model_dump(exclude_unset=True)))

    @app.delete("/v1/customers/<customer_id>", **describe(status=204, scope="customers:write", write=True,
                                                              content={}, description="Deleted."))
    def delete_customer(customer_id: str):
        org_id = require(app, "customers:write").organization_id
        service.delete(org_id, customer_id)
        return Response(204, "application/json", "")

    @app.delete("/v1/customers/external/<external_id>", **describe(status=204, scope="customers:write",
                                                                       write=True, content={}, description="Deleted."))
    def delete_customer_external(external_id: str):
        org_id = require(app, "customers:write").organization_id
        service.delete(org_id, service.get_by_external_id(org_id, external_id)["id"])
        return Response(204, "application/json", "")

    @app.get("/v1/customers/<customer_id>/state", **describe("customers.CustomerState", scope="customers:read"))
    def get_customer_state(customer_id: str) -> dict:
        org_id = require(app, "customers:read").organization_id
        return customer_state(org_id, service.get(org_id, customer_id))

    @app.get("/v1/customers/external/<external_id>/state", **describe("customers.CustomerState",
                                                                          scope="customers:read"))
    def get_customer_state_external(external_id: str) -> dict:
        org_id = require(app, "customers:read").organization_id
        return customer_state(org_id, service.get_by_external_id(org_id, external_id))
