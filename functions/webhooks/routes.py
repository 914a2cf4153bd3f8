"""Polar's webhooks API: /v1/webhooks/endpoints (register, change, reset the secret, delete),
/v1/webhooks/deliveries (the delivery log) and /v1/webhooks/events/{id}/redeliver."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.auth.service import require
from functions.common.http import json_response
from functions.common.listing import id_set
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.common.settings import settings
from functions.webhooks import service
from functions.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate, delivery_out, endpoint_out


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/webhooks/endpoints", **describe("webhooks.WebhookEndpoint", page=True, scope="webhooks:read"))
    def list_webhook_endpoints(page: Annotated[int, Query(ge=1)] = 1,
                               limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        org_id = require(app, "webhooks:read").organization_id
        return page_of([endpoint_out(e) for e in service.list_endpoints(org_id)], page, limit)

    @app.post("/v1/webhooks/endpoints", **describe("webhooks.WebhookEndpoint", status=201, scope="webhooks:write",
                                                   body=True, write=True))
    def create_webhook_endpoint(body: Annotated[WebhookEndpointCreate, Body()]):
        org_id = require(app, "webhooks:write").organization_id
        return json_response(201, endpoint_out(service.create_endpoint(org_id, body)))

    @app.get("/v1/webhooks/endpoints/<endpoint_id>", **describe("webhooks.WebhookEndpoint", scope="webhooks:read"))
    def get_webhook_endpoint(endpoint_id: str) -> dict:
        return endpoint_out(service.get_endpoint(require(app, "webhooks:read").organization_id, endpoint_id))

    @app.patch("/v1/webhooks/endpoints/<endpoint_id>", **describe("webhooks.WebhookEndpoint", scope="webhooks:write",
                                                                  body=True, write=True))
    def update_webhook_endpoint(endpoint_id: str, body: Annotated[WebhookEndpointUpdate, Body()]) -> dict:
        org_id = require(app, "webhooks:write").organization_id
        return endpoint_out(service.update_endpoint(org_id, endpoint_id, body))

    @app.patch("/v1/webhooks/endpoints/<endpoint_id>/secret", **describe("webhooks.WebhookEndpoint",
                                                                         scope="webhooks:write", body=True,
                                                                         write=True))
    def reset_webhook_endpoint_secret(endpoint_id: str) -> dict:
        org_id = require(app, "webhooks:write").organization_id
        return endpoint_out(service.reset_secret(org_id, endpoint_id))

    @app.delete("/v1/webhooks/endpoints/<endpoint_id>", **describe(status=204, content={}, scope="webhooks:write",
                                                                   write=True))
    def delete_webhook_endpoint(endpoint_id: str):
        service.delete_endpoint(require(app, "webhooks:write").organization_id, endpoint_id)
        return Response(204, "application/json", "")

    @app.get("/v1/webhooks/deliveries", **describe("webhooks.WebhookDelivery", page=True, scope="webhooks:read"))
    def list_webhook_deliveries(
        endpoint_id: Annotated[list[str] | None, Query()] = None,
        start_timestamp: Annotated[datetime | None, Query()] = None,
        end_timestamp: Annotated[datetime | None, Query()] = None,
        succeeded: Annotated[bool | None, Query()] = None,
        query: Annotated[str | None, Query(description="Matches the event's payload")] = None,
        http_code_class: Annotated[Literal["2xx", "3xx", "4xx", "5xx"] | None, Query()] = None,
        event_type: Annotated[list[str] | None, Query()] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict:
        org_id = require(app, "webhooks:read").organization_id
        rows = service.list_deliveries(org_id, endpoint_ids=id_set(endpoint_id), start=start_timestamp,
                                       end=end_timestamp, succeeded=succeeded, query=query,
                                       http_code_class=http_code_class, event_types=id_set(event_type))
        return page_of([delivery_out(d, e) for d, e in rows], page, limit)

    @app.post("/v1/webhooks/events/<event_id>/redeliver", **describe(status=202, content={},
                                                                     scope="webhooks:write", body=True,
                                                                     write=True))
    def redeliver_webhook_event(event_id: str):
        service.redeliver(require(app, "webhooks:write").organization_id, event_id, settings().webhook_queue_url)
        return json_response(202, None)
