"""The organization's profile: Polar's `name`, plus (beyond Polar) the branding the customer portal shows and
the seller's details printed on invoices."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from functions.common.request_types import RequestModel
from functions.common.schemas import lazy_models
from functions.organizations.profile import (
    CAPABILITIES,
    CUSTOMER_EMAIL_SETTINGS,
    CUSTOMER_PORTAL_SETTINGS,
    SUBSCRIPTION_SETTINGS,
    slug_of,
)
from functions.store.entities import AuditEntry

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class Branding(RequestModel):
    model_config = ConfigDict(extra="forbid")

    logo_url: str | None = Field(default=None, max_length=2048, pattern=r"^https://\S+$")
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    support_email: str | None = Field(default=None, max_length=254)

    @field_validator("support_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError("not an email address")
        return value


class SellerAddress(RequestModel):
    model_config = ConfigDict(extra="forbid")

    line1: str | None = Field(default=None, max_length=256)
    line2: str | None = Field(default=None, max_length=256)
    postal_code: str | None = Field(default=None, max_length=32)
    city: str | None = Field(default=None, max_length=128)
    state: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, min_length=2, max_length=2)


class Seller(RequestModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: str | None = Field(default=None, max_length=256)
    address: SellerAddress | None = None
    tax_id: str | None = Field(default=None, max_length=64)


class OrganizationUpdate(RequestModel):
    """Only the fields sent change; `null` clears an optional one."""

    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    name: str | None = Field(default=None, min_length=1, max_length=256)
    branding: Branding | None = None
    seller: Seller | None = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    # The products a customer may switch to in the portal ("offered to customers"), in the order shown.
    portal_products: list[str] | None = Field(default=None, max_length=20)


def audit_entry_out(entry: AuditEntry) -> dict[str, Any]:
    """The store's AuditEntry as its response (`AuditEntry` below)."""
    return asdict(entry)


def organization_out(org: Any) -> dict[str, Any]:
    """Polar's Organization (every field polar-sdk reads, with what Meterbill does), plus Meterbill's branding,
    seller, payment terms and portal products."""
    branding, seller = org.branding or {}, org.seller or {}
    return {"id": org.id, "name": org.name, "created_at": org.created_at, "modified_at": org.modified_at,
            "slug": slug_of(org.name), "avatar_url": branding.get("logo_url"), "proration_behavior": "prorate",
            "allow_customer_updates": True, "email": branding.get("support_email"), "website": None,
            "socials": [], "status": "active", "details_submitted_at": None,
            "onboarding_resubmission_requested_at": None, "sso_enforced": False,
            "default_presentment_currency": "usd", "default_tax_behavior": "exclusive", "feature_settings": None,
            "subscription_settings": SUBSCRIPTION_SETTINGS, "customer_email_settings": CUSTOMER_EMAIL_SETTINGS,
            "customer_portal_settings": CUSTOMER_PORTAL_SETTINGS,
            "dispute_settings": {"auto_accept_below_amount": None}, "embed_hosts": [],
            "country": (seller.get("address") or {}).get("country"), "account_id": None, "payout_account_id": None,
            "capabilities": CAPABILITIES,
            "branding": branding, "seller": seller,
            "payment_terms_days": org.payment_terms_days, "portal_products": org.portal_products or []}


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime
    from typing import Literal

    from functions.common.schemas import Schema

    class Organization(Schema):
        """Polar's organization: its settings say what Meterbill does (no email, no payments, one subscription
        per customer, a portal with usage and plan changes); plus the portal's branding, the seller's details
        on invoices, payment terms and the products offered in the portal."""

        id: str
        name: str
        created_at: datetime
        modified_at: datetime | None = None
        slug: str
        avatar_url: str | None
        proration_behavior: Literal["invoice", "prorate"]
        allow_customer_updates: bool
        email: str | None
        website: str | None
        socials: list[dict[str, str]]
        status: Literal["active"]
        details_submitted_at: datetime | None
        onboarding_resubmission_requested_at: datetime | None
        sso_enforced: bool
        default_presentment_currency: str
        default_tax_behavior: Literal["exclusive"]
        feature_settings: None
        subscription_settings: dict[str, Any]
        customer_email_settings: dict[str, bool]
        customer_portal_settings: dict[str, Any]
        dispute_settings: dict[str, int | None]
        embed_hosts: list[str]
        country: str | None
        account_id: str | None
        payout_account_id: str | None
        capabilities: dict[str, bool]
        branding: Branding
        seller: Seller
        payment_terms_days: int | None
        portal_products: list[str]

    class AuditActor(Schema):
        type: str
        customer_id: str
        via: str

    class AuditEntry(Schema):
        """Beyond Polar: one change a customer made in the portal (who, when, what)."""

        id: str
        organization_id: str
        created_at: datetime
        actor: AuditActor
        customer_id: str
        action: str
        subject_id: str
        changes: dict[str, Any]

    return {"Organization": Organization, "AuditEntry": AuditEntry}


__getattr__ = lazy_models(_response_models)
