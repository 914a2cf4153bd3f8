"""HTTP routes of the organizations capability."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.auth.service import require
from functions.common.listing import parse_sorting
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.organizations import service
from functions.organizations.schemas import OrganizationUpdate, audit_entry_out, organization_out


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/organizations", **describe("organizations.Organization", page=True, scope="organizations:read"))
    def list_organizations(slug: Annotated[str | None, Query()] = None,
                           page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10,
                           sorting: Annotated[list[str] | None, Query(description="created_at, slug, name: one "
                                                                      "organization, any order")] = None) -> dict:
        """Polar lists the organizations a user belongs to; an organization token reads one: its own."""
        principal = require(app, "organizations:read")
        parse_sorting(sorting, ("created_at", "slug", "name"), "created_at")  # checked, though one row has no order
        own = organization_out(service.get_organization(principal.organization_id, principal.organization_id))
        return page_of([own] if slug in (None, own["slug"]) else [], page, limit)

    @app.get("/v1/organizations/<organization_id>", **describe("organizations.Organization",
                                                                scope="organizations:read"))
    def get_organization(organization_id: str) -> dict:
        principal = require(app, "organizations:read")
        return organization_out(service.get_organization(organization_id, principal.organization_id))

    @app.get("/v1/audit-log", **describe("organizations.AuditEntry", page=True, scope="customers:read"))
    def audit_log(customer_id: Annotated[str | None, Query()] = None,
                  page: Annotated[int, Query(ge=1)] = 1, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        """Beyond Polar: what customers changed in the portal (who, when, what), newest first."""
        org_id = require(app, "customers:read").organization_id
        return page_of([audit_entry_out(e) for e in service.audit_log(org_id, customer_id)], page, limit)

    @app.patch("/v1/organizations/<organization_id>", **describe("organizations.Organization",
                                                                  scope="organizations:write", body=True, write=True))
    def update_organization(organization_id: str, body: Annotated[OrganizationUpdate, Body()]) -> dict:
        principal = require(app, "organizations:write")
        return organization_out(service.update_profile(organization_id, principal.organization_id,
                                                       body.model_dump(exclude_unset=True)))
