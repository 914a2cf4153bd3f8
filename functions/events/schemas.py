"""Polar's event shapes (polar.v2026_10: EventCreateCustomer, EventCreateExternalCustomer, EventsIngest)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from functions.common.clock import utcnow
from functions.common.schemas import lazy_models

MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
MAX_EVENTS_PER_REQUEST = 1000


def storable_number(value: int | float) -> bool:
    """DynamoDB keeps numbers of up to 38 significant digits, magnitudes 1e-130 to 1e126. A meter's clause
    values and thresholds are stored, never summed: 1e-100 to 1e100 (and zero), integers of up to 30 digits."""
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return value == 0 or (value == value and 1e-100 <= abs(value) < 1e100)
    return len(str(abs(value))) <= 30


# Metadata numbers may be summed by any meter, now or created later (backfill), over a customer's period, and
# the sum is stored in DynamoDB (38 significant digits) and must stay exact. Fixed point makes that a budget:
# below 10^16 with at most 12 decimal places is 28 digits, so sums of up to 10^10 such values (a year of one
# customer at 300 events/s, every value at the maximum) still fit in 38 digits. 12 places is also the precision
# of a metered unit price.
METERED_INTEGER_DIGITS = 16
METERED_DECIMAL_PLACES = 12
METERED_LIMIT = 10**METERED_INTEGER_DIGITS
METERED_RULE = (f"a finite number below 10^{METERED_INTEGER_DIGITS} in size with at most "
                f"{METERED_DECIMAL_PLACES} decimal places (sums of metered values are kept exact)")


def metered_number(value: int | float | Decimal) -> bool:
    """Whether a metadata number follows the rule above (exactly: a float is read as its shortest decimal
    form, the digits the client wrote)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -METERED_LIMIT < value < METERED_LIMIT
    if isinstance(value, float):
        if not -METERED_LIMIT < value < METERED_LIMIT:  # also refuses nan and inf
            return False
        text = repr(value)
        if "e" not in text and "E" not in text:
            return len(text) - text.index(".") - 1 <= METERED_DECIMAL_PLACES
        value = Decimal(text)
    if not value.is_finite() or abs(value) >= METERED_LIMIT:
        return False
    return value == 0 or value.normalize().as_tuple().exponent >= -METERED_DECIMAL_PLACES  # type: ignore[operator]


def _check_scalar(key: str, value: Any) -> None:
    if isinstance(value, str):
        if len(value) > 500:
            raise ValueError(f"metadata value of {key!r} is longer than 500 characters")
    elif isinstance(value, float | int | Decimal) and not isinstance(value, bool):
        if not metered_number(value):
            raise ValueError(f"metadata value of {key!r} must be {METERED_RULE}")
    elif not isinstance(value, bool):
        raise ValueError(f"metadata value of {key!r} must be a string, number or boolean")


def check_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Polar's limits; its structured keys (`_llm`, `_cost`) may carry one level of nested scalars."""
    if len(metadata) > 50:
        raise ValueError("metadata can hold at most 50 keys")
    for key, value in metadata.items():
        if not 1 <= len(key) <= 40:
            raise ValueError(f"metadata key {key[:50]!r} must be 1 to 40 characters")
        if isinstance(value, dict) and key.startswith("_"):
            for inner_key, inner in value.items():
                if inner is not None:
                    _check_scalar(f"{key}.{inner_key}", inner)
        else:
            _check_scalar(key, value)
    return metadata


# A metadata value as stored and sent back: a scalar, or (under a key starting with "_") one level of them.
MetadataScalar = str | int | float | bool
MetadataValue = MetadataScalar | dict[str, MetadataScalar | None]

# The one metadata rule, for every resource that takes metadata (events, customers, meters, products).
Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]


class EventCreate(BaseModel):
    """One event, by `customer_id` or `external_customer_id` (exactly one)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=128)
    timestamp: datetime | None = None
    customer_id: str | None = Field(default=None, min_length=1, max_length=100)
    external_customer_id: str | None = Field(default=None, min_length=1, max_length=256, validate_default=True)
    external_id: str | None = Field(default=None, min_length=1, max_length=256)
    organization_id: str | None = None
    parent_id: str | None = None
    member_id: str | None = None
    external_member_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_metadata(value)

    @field_validator("timestamp")
    @classmethod
    def _timestamp(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        now = utcnow()
        if value < now - MAX_AGE:
            raise ValueError("timestamp is more than 35 days in the past")
        if value > now + MAX_AHEAD:
            raise ValueError("timestamp is more than 5 minutes in the future")
        return value

    @field_validator("external_customer_id")
    @classmethod
    def _one_customer(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "customer_id" in info.data and (info.data["customer_id"] is None) == (value is None):
            raise ValueError("give exactly one of customer_id or external_customer_id")
        return value


class EventsIngest(BaseModel):
    events: list[EventCreate] = Field(max_length=MAX_EVENTS_PER_REQUEST)



def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from functions.common.schemas import Schema
    from functions.customers.schemas import Customer

    class EventsIngestResponse(Schema):
        inserted: int = Field(description="events written by this request")
        duplicates: int = Field(default=0, description="events whose external_id was already ingested")

    class Event(Schema):
        """Polar's Event (source `user`), plus `ingested_at` and `late` (counted in a later open period)."""

        id: str
        timestamp: datetime
        organization_id: str
        customer_id: str
        customer: Customer | None
        external_customer_id: str | None
        external_id: str | None
        child_count: int
        parent_id: str | None
        label: str
        name: str
        source: Literal["user"]
        metadata: dict[str, MetadataValue]
        ingested_at: datetime
        late: bool

    return {"EventsIngestResponse": EventsIngestResponse, "Event": Event}


__getattr__ = lazy_models(_response_models)
