"""Customer routes (Polar's /v1/customers/), including the customer state with its active meters."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.auth.service import require
from functions.common.errors import ValidationFailed, field_error
from functions.common.http import json_response
from functions.common.listing import metadata_filter, parse_sorting
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customers import service
from functions.customers.schemas import CustomerCreate, CustomerUpdate, customer_out, customer_state_out
from functions.customers.service import CustomerRef


def customer_state(org_id: str, ref: CustomerRef) -> dict[str, Any]:
    return customer_state_out(*service.state(org_id, ref))


def refuse_anonymize(anonymize: bool) -> None:
    """Polar's `anonymize=true` erases the customer's personal data; Meterbill deletes (soft) but does not erase
    yet, so it says so instead of answering as if it had (polar-sdk sends `anonymize=false` by default)."""
    if anonymize:
        raise ValidationFailed([field_error(["query", "anonymize"], "Meterbill does not anonymize customers: "
                                            "delete without it")])


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/customers", **describe("customers.Customer", status=201, scope="customers:write", body=True,
                                              write=True))
    def create_customer(body: Annotated[CustomerCreate, Body()]):
        org_id = require(app, "customers:write").organization_id
        if body.organization_id not in (None, org_id):
            raise ValidationFailed([field_error(["body", "organization_id"], "must be the token's organization")])
        fields = body.model_dump(exclude={"type", "organization_id"})
        customer = service.create(org_id, **fields)
        return json_response(201, customer_out(customer))

    @app.get("/v1/customers", **describe("customers.Customer", page=True, scope="customers:read",
                                         metadata_filter=True))
    def list_customers(
        email: Annotated[str | None, Query()] = None,
        query: Annotated[str | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description="created_at, email, name; `-` descends; several "
                                                  "comma-separated or repeated. Default: -created_at")] = None,
    ) -> dict:
        """Also filters on `metadata[key]=value` (repeat a key for any of several values)."""
        org_id = require(app, "customers:read").organization_id
        rows = service.list_customers(org_id, email, query,
                                      sorting=parse_sorting(sorting, service.SORT_KEYS, "-created_at"),
                                      metadata=metadata_filter(app.current_event.raw_query_string))
        return page_of([customer_out(c) for c in rows], page, limit)

    @app.get("/v1/customers/export", **describe(scope="customers:read", description="The customers as CSV.",
                                                    content={"text/csv": {"schema": {"type": "string"}}}))
    def export_customers():
        """Polar's customers export: every customer of the organization, oldest first, as CSV. Polar's
        `organization_id` is checked by the resolver, as on every route (functions/common/http.py)."""
        org_id = require(app, "customers:read").organization_id
        return Response(200, "text/csv", service.export_csv(org_id),
                        headers={"Content-Disposition": 'attachment; filename="customers.csv"'})

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
        return customer_out(service.update(org_id, CustomerRef(customer_id=customer_id),
                                           body.model_dump(exclude_unset=True, exclude={"type"})))

    @app.patch("/v1/customers/external/<external_id>", **describe("customers.Customer", scope="customers:write",
                                                                      body=True, write=True))
    def update_customer_external(external_id: str, body: Annotated[CustomerUpdate, Body()]) -> dict:
        org_id = require(app, "customers:write").organization_id
        return customer_out(service.update(org_id, CustomerRef(external_customer_id=external_id),
                                           body.model_dump(exclude_unset=True, exclude={"type"})))

    @app.delete("/v1/customers/<customer_id>", **describe(status=204, scope="customers:write", write=True,
                                                              content={}, description="Deleted."))
    def delete_customer(customer_id: str, anonymize: Annotated[bool, Query()] = False):
        org_id = require(app, "customers:write").organization_id
        refuse_anonymize(anonymize)
        service.delete(org_id, CustomerRef(customer_id=customer_id))
        return Response(204, "application/json", "")

    @app.delete("/v1/customers/external/<external_id>", **describe(status=204, scope="customers:write",
                                                                       write=True, content={}, description="Deleted."))
    def delete_customer_external(external_id: str, anonymize: Annotated[bool, Query()] = False):
        org_id = require(app, "customers:write").organization_id
        refuse_anonymize(anonymize)
        service.delete(org_id, CustomerRef(external_customer_id=external_id))
        return Response(204, "application/json", "")

    @app.get("/v1/customers/<customer_id>/state", **describe("customers.CustomerState", scope="customers:read"))
    def get_customer_state(customer_id: str) -> dict:
        org_id = require(app, "customers:read").organization_id
        return customer_state(org_id, CustomerRef(customer_id=customer_id))

    @app.get("/v1/customers/external/<external_id>/state", **describe("customers.CustomerState",
                                                                          scope="customers:read"))
    def get_customer_state_external(external_id: str) -> dict:
        org_id = require(app, "customers:read").organization_id
        return customer_state(org_id, CustomerRef(external_customer_id=external_id))
