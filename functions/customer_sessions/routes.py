"""POST /v1/customer-sessions/ (Polar's shape): a portal link for one customer."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, model_validator

from functions.auth.service import require
from functions.common.http import json_response, public_base_url
from functions.customer_sessions import service
from functions.customers.schemas import customer_out
from functions.store.customers import CustomerRef


class CustomerSessionCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer_id: str | None = None
    external_customer_id: str | None = None
    return_url: str | None = None

    @model_validator(mode="after")
    def _one(self) -> CustomerSessionCreate:
        if (self.customer_id is None) == (self.external_customer_id is None):
            raise ValueError("give exactly one of customer_id or external_customer_id")
        return self


def register(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/customer-sessions")
    def create_customer_session(body: Annotated[CustomerSessionCreate, Body()]):
        org_id = require(app, "customer_sessions:write").organization_id
        ref = CustomerRef(body.customer_id, body.external_customer_id)
        session, customer = service.create(org_id, ref, body.return_url, public_base_url(app.current_event))
        return json_response(201, {**session, "customer": customer_out(customer)})
