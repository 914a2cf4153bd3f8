"""Polar's customer shapes (CustomerIndividualCreate, CustomerUpdate, CustomerIndividual)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from functions.common.metadata import check_metadata
from functions.common.request_types import RequestModel
from functions.common.schemas import lazy_models
from functions.store import entities


class Address(RequestModel):
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str = Field(min_length=2, max_length=2)


# A field Polar's customer bodies have and Meterbill does not implement is a 422 that names it, as is any
# other unknown field (extra="forbid"), never dropped: `locale` (the portal reads Accept-Language), `owner`
# (members are not served).
class CustomerCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = Field(default=None, max_length=256)
    external_id: str | None = Field(default=None, min_length=1, max_length=256)
    metadata: dict[str, Any] = Field(default_factory=dict)
    billing_address: Address | None = None
    tax_exempt: bool = False
    tax_id: str | None = Field(default=None, min_length=1, max_length=64)  # shown as Polar's [value, type]
    payment_terms_days: int | None = Field(default=None, ge=0, le=365, description="beyond Polar: days from "
                                           "issue to due date on its invoices (default: the organization's)")
    type: Literal["individual"] = "individual"  # Polar's only customer type in this API version
    organization_id: str | None = None  # must be the token's organization (the route checks)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_metadata(value)


class CustomerUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = Field(default=None, max_length=256)
    external_id: str | None = Field(default=None, min_length=1, max_length=256)
    metadata: dict[str, Any] | None = None
    billing_address: Address | None = None
    tax_exempt: bool | None = None
    tax_id: str | None = Field(default=None, min_length=1, max_length=64)
    payment_terms_days: int | None = Field(default=None, ge=0, le=365, description="null: the organization's")
    type: Literal["individual"] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else check_metadata(value)


def polar_tax_id(stored: Any) -> list[str | None] | None:
    """Polar's `[value, type]` pair; a tax id entered as text (the portal's form) has no known type."""
    if not stored:
        return None
    return list(stored) if isinstance(stored, list | tuple) else [str(stored), None]


def customer_out(customer: entities.Customer) -> dict[str, Any]:
    """The store's Customer as Polar's CustomerIndividual (the `Customer` response model below)."""
    return {
        "id": customer.id,
        "created_at": customer.created_at,
        "modified_at": customer.modified_at,
        "metadata": customer.metadata or {},
        "external_id": customer.external_id,
        "email": customer.email or "",
        "email_verified": False,
        "type": "individual",
        "name": customer.name,
        "billing_name": customer.billing_name or customer.name,
        "billing_address": customer.billing_address,
        "tax_id": polar_tax_id(customer.tax_id),
        "locale": None,
        "organization_id": customer.organization_id,
        "default_payment_method_id": None,
        "deleted_at": customer.deleted_at,
        "first_user_event_at": None,
        "avatar_url": None,
        "tax_exempt": bool(customer.tax_exempt),
        "payment_terms_days": customer.payment_terms_days,
        "balances": customer.balances(),
    }


STATE_METER_FIELDS = ("id", "created_at", "modified_at", "meter_id", "consumed_units", "credited_units", "balance")
CROSSING_FIELDS = ("meter_id", "threshold_id", "threshold", "period_start", "crossed_at", "consumed_units")


def customer_state_out(customer: entities.Customer, active_rows: list[Any], crossed: list[Any]) -> dict[str, Any]:
    """Polar's CustomerState (GET .../state, and the data of a `customer.state_changed` webhook)."""
    active = [{k: v for k, v in row.numbers().items() if k in STATE_METER_FIELDS} for row in active_rows]
    crossings = [{k: getattr(c, k) for k in CROSSING_FIELDS} for c in crossed]
    return {**customer_out(customer), "active_subscriptions": [], "granted_benefits": [], "active_meters": active,
            "crossed_thresholds": crossings}


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from pydantic import Field

    from functions.common.metadata import MetadataValue
    from functions.common.schemas import Schema

    class CustomerAddress(Schema):
        line1: str | None = None
        line2: str | None = None
        postal_code: str | None = None
        city: str | None = None
        state: str | None = None
        country: str

    class CustomerBalance(Schema):
        """Polar's CustomerBalance: credit in one currency, in cents (positive: credit the customer has)."""

        balance: int
        currency: str

    class Customer(Schema):
        """Polar's CustomerIndividual (what customer_out writes), plus `tax_exempt` and `balances` (the credit
        balance per currency that negative invoices left, applied to the next invoices; docs/billing.md)."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        metadata: dict[str, MetadataValue]
        external_id: str | None
        email: str
        email_verified: bool
        type: Literal["individual"]
        name: str | None
        billing_name: str | None
        billing_address: CustomerAddress | None
        tax_id: list[str | None] | None
        locale: str | None
        organization_id: str
        default_payment_method_id: str | None
        deleted_at: datetime | None
        first_user_event_at: datetime | None
        avatar_url: str | None
        tax_exempt: bool
        payment_terms_days: int | None = None
        balances: list[CustomerBalance]

    class CustomerStateMeter(Schema):
        id: str
        created_at: datetime
        modified_at: datetime | None
        meter_id: str
        consumed_units: float
        credited_units: int
        balance: float

    class CrossedThreshold(Schema):
        """Beyond Polar: a usage threshold the customer crossed in the current period."""

        meter_id: str
        threshold_id: str
        threshold: dict[str, Any]
        period_start: datetime
        crossed_at: datetime
        consumed_units: str = Field(description="exact decimal, as text")

    class CustomerState(Customer):
        """Polar's CustomerState: the customer with its active meters, plus `crossed_thresholds`."""

        active_subscriptions: list[dict[str, Any]]
        granted_benefits: list[dict[str, Any]]
        active_meters: list[CustomerStateMeter]
        crossed_thresholds: list[CrossedThreshold]

    return {"Customer": Customer, "CustomerAddress": CustomerAddress, "CustomerBalance": CustomerBalance,
            "CustomerState": CustomerState,
            "CustomerStateMeter": CustomerStateMeter, "CrossedThreshold": CrossedThreshold}


__getattr__ = lazy_models(_response_models)
