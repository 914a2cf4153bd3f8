"""Customer sessions: a short-lived token that lets one customer into the portal, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from functions.auth.tokens import new_token, token_hash
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import NotFound, Unauthorized, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.store import customer_sessions as store
from functions.store import customers as customer_store
from functions.store.customer_sessions import CustomerSession
from functions.store.customers import CustomerRef
from functions.store.entities import Customer

SESSION_PREFIX = "mb_cst_"
LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class CustomerPrincipal:
    organization_id: str
    customer_id: str
    return_url: str | None = None  # where the portal's back link goes (Polar's return_url)
    expires_at: str | None = None


def create(org_id: str, ref: CustomerRef, return_url: str | None, portal_base: str
           ) -> tuple[dict[str, Any], Customer]:
    """A session for the customer a reference names: (the session as the API returns it, the customer). An
    unknown customer is a 422 on the body field that named it, as Polar answers."""
    customer = customer_store.find(org_id, ref)
    if customer is None:
        field = "customer_id" if ref.customer_id is not None else "external_customer_id"
        raise ValidationFailed([field_error(["body", field], "Customer does not exist.")])
    token = new_token(SESSION_PREFIX)
    now = utcnow()
    expires = now + LIFETIME
    session = CustomerSession(id=new_id(), organization_id=org_id, customer_id=customer.id,
                              expires=iso(expires), return_url=return_url, created_at=iso(now))
    store.put(token_hash(token), session, int(expires.timestamp()))
    return {
        "id": session.id, "created_at": session.created_at, "modified_at": None, "token": token,
        "expires_at": session.expires, "return_url": return_url,
        "customer_portal_url": f"{portal_base}/portal?customer_session_token={token}",
        "customer_id": customer.id,
    }, customer


def authenticate(token: str | None) -> CustomerPrincipal:
    """401 for a missing, unknown or expired session (TTL deletion is lazy, so expiry is checked here)."""
    if not token or not token.startswith(SESSION_PREFIX):
        raise Unauthorized("missing or invalid customer session")
    session = store.find(token_hash(token))
    if session is None or parse_iso(session.expires) <= utcnow():
        raise Unauthorized("customer session expired or unknown")
    if customer_store.get(session.organization_id, session.customer_id) is None:
        raise NotFound("customer not found")  # a deleted customer has no portal
    return CustomerPrincipal(session.organization_id, session.customer_id, session.return_url, session.expires)
