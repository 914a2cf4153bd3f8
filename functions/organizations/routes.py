"""HTTP routes of the organizations capability, and the one way every route authenticates."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.common.errors import NotFound
from functions.common.http import bearer_token
from functions.common.pagination import page_of
from functions.organizations.schemas import OrganizationUpdate, organization_out
from functions.organizations.service import Principal, authenticate, update_profile
from functions.store import activity
from functions.store import organizations as store


def require(app: APIGatewayHttpResolver, scope: str) -> Principal:
    return authenticate(bearer_token(app.current_event.headers or {}), scope)


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/organizations/<organization_id>")
    def get_organization(organization_id: str) -> dict:
        principal = require(app, "organizations:read")
        org = store.get(organization_id) if organization_id == principal.organization_id else None
        if org is None:
            raise NotFound("organization not found")
        return organization_out(org)

    @app.get("/v1/audit-log")
    def audit_log(customer_id: Annotated[str | None, Query()] = None,
                  page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        """Beyond Polar: what customers changed in the portal (who, when, what), newest first."""
        org_id = require(app, "customers:read").organization_id
        rows = [e for e in activity.list_entries(org_id) if customer_id is None or e["customer_id"] == customer_id]
        return page_of(rows, page, limit)

    @app.patch("/v1/organizations/<organization_id>")
    def update_organization(organization_id: str, body: Annotated[OrganizationUpdate, Body()]) -> dict:
        principal = require(app, "organizations:write")
        if organization_id != principal.organization_id or store.get(organization_id) is None:
            raise NotFound("organization not found")
        return organization_out(update_profile(organization_id, body.model_dump(exclude_unset=True)))
