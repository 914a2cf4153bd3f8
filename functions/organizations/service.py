"""Creating organizations and authenticating their access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.common.clock import iso, utcnow
from functions.common.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.organizations.tokens import ALL_SCOPES, grants, new_token, token_hash
from functions.store import billing as billing_store
from functions.store import organizations as store


@dataclass(frozen=True)
class Principal:
    organization_id: str
    scopes: frozenset[str]


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


def update_profile(organization_id: str, changes: dict[str, Any]) -> store.Organization:
    """Name, branding, seller details, payment terms: the fields given. Branding and seller merge into what is
    stored, key by key (None clears a key, a null group clears it all); None clears the payment terms; the name
    cannot be cleared."""
    org = store.get(organization_id)
    if org is None:
        raise NotFound("organization not found")
    if changes.get("name") is None:
        changes.pop("name", None)
    for group in ("branding", "seller"):
        if group in changes:
            if changes[group] is None:  # null clears the whole group
                continue
            merged = {**(getattr(org, group) or {}), **changes[group]}
            changes[group] = {k: v for k, v in merged.items() if v is not None} or None
    unknown = [i for i, product_id in enumerate(changes.get("portal_products") or [])
               if billing_store.get_product(organization_id, product_id) is None]
    if unknown:
        raise ValidationFailed([field_error(["body", "portal_products", i], "product not found") for i in unknown])
    if changes:
        store.update_profile(organization_id, changes, iso(utcnow()))
    updated = store.get(organization_id)
    assert updated is not None
    return updated


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
