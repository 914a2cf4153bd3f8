"""HTTP routes of the organizations capability, and the one way every route authenticates."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from functions.common.errors import NotFound
from functions.common.http import PRINCIPAL, bearer_token
from functions.common.openapi import describe
from functions.organizations.service import Principal, authenticate
from functions.organizations.tokens import grants
from functions.store import organizations as store


def authenticate_request(event: Any, scopes: list[str]) -> Principal:
    """The resolver's authenticator for organization tokens (functions/common/http.py): runs before the
    request is validated, with the scope the route declares."""
    return authenticate(bearer_token(event.headers or {}), scopes[0] if scopes else "")


def require(app: APIGatewayHttpResolver, scope: str) -> Principal:
    """The caller's principal, if its token has the scope: the one the resolver authenticated before
    validation when it grants the scope (no second read), else authenticated now."""
    principal = app.context.get(PRINCIPAL)
    if isinstance(principal, Principal) and grants(principal.scopes, scope):
        return principal
    return authenticate(bearer_token(app.current_event.headers or {}), scope)


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/organizations/<organization_id>", **describe("organizations.Organization",
                                                                scope="organizations:read"))
    def get_organization(organization_id: str) -> dict:
        principal = require(app, "organizations:read")
        org = store.get(organization_id) if organization_id == principal.organization_id else None
        if org is None:
            raise NotFound("organization not found")
        return {"id": org.id, "name": org.name, "created_at": org.created_at, "modified_at": None}
