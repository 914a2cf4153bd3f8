"""POST /v1/customer-sessions/ (Polar's shape): a portal link for one customer."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.auth.service import require
from functions.common.http import json_response, public_base_url
from functions.common.openapi import describe
from functions.customer_sessions import service
from functions.customer_sessions.schemas import CustomerSessionCreate
from functions.customers.schemas import customer_out
from functions.store.customers import CustomerRef


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/customer-sessions", **describe("customer_sessions.CustomerSession", status=201,
                                                      scope="customer_sessions:write", body=True, write=True))
    def create_customer_session(body: Annotated[CustomerSessionCreate, Body()]):
        org_id = require(app, "customer_sessions:write").organization_id
        ref = CustomerRef(body.customer_id, body.external_customer_id)
        session, customer = service.create(org_id, ref, body.return_url, public_base_url(app.current_event))
        return json_response(201, {**session, "customer": customer_out(customer)})
