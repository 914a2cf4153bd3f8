"""Organization access tokens: random secrets shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "mb_oat_"

# Polar's scope names for the resources Meterbill serves.
ALL_SCOPES: tuple[str, ...] = (
    "organizations:read",
    "organizations:write",
    "events:read",
    "events:write",
    "meters:read",
    "meters:write",
    "customers:read",
    "customers:write",
    "customer_meters:read",
    "customer_sessions:write",
    "products:read",
    "products:write",
    "subscriptions:read",
    "subscriptions:write",
    "discounts:read",
    "discounts:write",
    "orders:read",
    "orders:write",
    "webhooks:read",
    "webhooks:write",
)


def new_token(prefix: str = TOKEN_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grants(scopes: frozenset[str], needed: str) -> bool:
    """A write scope implies the read scope of the same resource, as in Polar."""
    if needed in scopes:
        return True
    resource, _, action = needed.partition(":")
    return action == "read" and f"{resource}:write" in scopes
