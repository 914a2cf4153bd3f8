"""Polar's event shapes (polar.v2026_10: EventCreateCustomer, EventCreateExternalCustomer, EventsIngest)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from functions.common.clock import utcnow

MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
MAX_EVENTS_PER_REQUEST = 1000



def storable_number(value: int | float) -> bool:
    """DynamoDB keeps numbers of up to 38 significant digits, magnitudes 1e-130 to 1e126. Meterbill accepts
    1e-100 to 1e100 (and zero), integers of up to 30 digits: sums of many of them still fit."""
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return value == 0 or (value == value and 1e-100 <= abs(value) < 1e100)
    return len(str(abs(value))) <= 30


def _check_scalar(key: str, value: Any) -> None:
    if isinstance(value, str):
        if len(value) > 500:
            raise ValueError(f"metadata value of {key!r} is longer than 500 characters")
    elif isinstance(value, float | int) and not isinstance(value, bool):
        if not storable_number(value):
            raise ValueError(f"metadata value of {key!r} must be a finite number of at most 30 digits, "
                             "between 1e-100 and 1e100 in size")
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


class EventsIngestResponse(BaseModel):
    inserted: int
    duplicates: int = 0
