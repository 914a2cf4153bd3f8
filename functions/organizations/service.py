"""Creating organizations and their access tokens (authentication: functions/auth/service.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.auth.tokens import ALL_SCOPES, new_token, token_hash
from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound
from functions.common.ids import new_id
from functions.store import organizations as store


@dataclass(frozen=True)
class NewOrganization:
    organization_id: str
    token: str


def create_organization(name: str, scopes: tuple[str, ...] = ALL_SCOPES) -> NewOrganization:
    org = store.Organization(id=new_id(), name=name, created_at=iso(utcnow()))
    token = new_token()
    store.create(org, token_hash(token), scopes)
    return NewOrganization(organization_id=org.id, token=token)


def create_token(organization_id: str, scopes: tuple[str, ...]) -> str:
    token = new_token()
    store.add_token(organization_id, token_hash(token), scopes)
    return token


def get_organization(organization_id: str, caller_organization_id: str) -> dict[str, Any]:
    """The caller's own organization; any other is a 404 (never a 403: no hint that it exists)."""
    org = store.get(organization_id) if organization_id == caller_organization_id else None
    if org is None:
        raise NotFound("organization not found")
    return {"id": org.id, "name": org.name, "created_at": org.created_at, "modified_at": None}
