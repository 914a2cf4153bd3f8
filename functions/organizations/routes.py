"""HTTP routes of the organizations capability."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from functions.auth.service import require
from functions.common.openapi import describe
from functions.organizations import service


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/organizations/<organization_id>", **describe("organizations.Organization",
                                                                scope="organizations:read"))
    def get_organization(organization_id: str) -> dict:
        principal = require(app, "organizations:read")
        return service.get_organization(organization_id, principal.organization_id)
