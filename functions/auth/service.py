"""The one way every route authenticates: the bearer token's organization and scopes.

A shared layer under the features (each feature's routes call `require`), above the store: it imports no
feature. Organizations and their tokens are created by functions/organizations/service.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from functions.auth.tokens import grants, token_hash
from functions.common.errors import Forbidden, Unauthorized
from functions.common.http import PRINCIPAL, bearer_token
from functions.store import organizations as store


@dataclass(frozen=True)
class Principal:
    organization_id: str
    scopes: frozenset[str]


def authenticate(token: str | None, scope: str) -> Principal:
    """401 for a missing or unknown token, 403 for a token without the scope."""
    if not token:
        raise Unauthorized("missing bearer token")
    found = store.find_token(token_hash(token))
    if found is None:
        raise Unauthorized("invalid or revoked token")
    if not grants(found.scopes, scope):
        raise Forbidden(f"token lacks the '{scope}' scope")
    return Principal(organization_id=found.organization_id, scopes=found.scopes)


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
