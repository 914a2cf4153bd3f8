"""The organization's profile: Polar's `name`, plus (beyond Polar) the branding the customer portal shows and
the seller's details printed on invoices."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from functions.common.request_types import RequestModel
from functions.common.schemas import lazy_models

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

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=256)
    branding: Branding | None = None
    seller: Seller | None = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    # The products a customer may switch to in the portal ("offered to customers"), in the order shown.
    portal_products: list[str] | None = Field(default=None, max_length=20)


def organization_out(org: Any) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "created_at": org.created_at, "modified_at": org.modified_at,
            "branding": org.branding or {}, "seller": org.seller or {},
            "payment_terms_days": org.payment_terms_days, "portal_products": org.portal_products or []}


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from functions.common.schemas import Schema

    class Organization(Schema):
        """Polar's organization (as much of it as Meterbill has), plus the portal's branding, the seller's
        details on invoices, payment terms and the products offered in the portal."""

        id: str
        name: str
        created_at: datetime
        modified_at: datetime | None = None
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
