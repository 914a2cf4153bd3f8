"""Creating organizations and their access tokens (authentication: functions/auth/service.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.auth.tokens import ALL_SCOPES, new_token, token_hash
from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.store import activity
from functions.store import billing as billing_store
from functions.store import organizations as store
from functions.store.entities import AuditEntry


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


def get_organization(organization_id: str, caller_organization_id: str) -> store.Organization:
    """The caller's own organization; any other is a 404 (never a 403: no hint that it exists)."""
    org = store.get(organization_id) if organization_id == caller_organization_id else None
    if org is None:
        raise NotFound("organization not found")
    return org


def audit_log(org_id: str, customer_id: str | None = None) -> list[AuditEntry]:
    """What customers changed in the portal, newest first (optionally one customer's)."""
    return [e for e in activity.list_entries(org_id) if customer_id is None or e.customer_id == customer_id]


def update_profile(organization_id: str, caller_organization_id: str, changes: dict[str, Any]
                   ) -> store.Organization:
    """Name, branding, seller details, payment terms: the fields given. Branding and seller merge into what is
    stored, key by key (None clears a key, a null group clears it all); None clears the payment terms; the name
    cannot be cleared."""
    org = get_organization(organization_id, caller_organization_id)
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
