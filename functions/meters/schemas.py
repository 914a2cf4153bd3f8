"""Polar's meter shapes (MeterCreate, MeterUpdate, Meter, MeterQuantities), plus the `last` aggregation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.common.ids import new_id
from functions.common.metadata import check_metadata, storable_number

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"]


class FilterClause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property: str = Field(min_length=1, max_length=256)
    operator: Operator
    value: str | int | float | bool

    @field_validator("value")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 1000:
            raise ValueError("a clause value has at most 1,000 characters")
        if isinstance(value, int | float) and not storable_number(value):
            raise ValueError("a number of at most 30 digits, between 1e-100 and 1e100 in size")
        return value


class Filter(BaseModel):
    # Extra keys are refused so that a malformed clause can never pass as an empty (match-all) filter.
    model_config = ConfigDict(extra="forbid")

    conjunction: Literal["and", "or"] = "and"
    clauses: list[FilterClause | Filter] = Field(default_factory=list)


class CountAggregation(BaseModel):
    func: Literal["count"] = "count"


class PropertyAggregation(BaseModel):
    func: Literal["sum", "avg", "min", "max", "last"]
    property: str = Field(min_length=1, max_length=256)


class UniqueAggregation(BaseModel):
    func: Literal["unique"] = "unique"
    property: str = Field(min_length=1, max_length=256)


Aggregation = CountAggregation | PropertyAggregation | UniqueAggregation


class Threshold(BaseModel):
    """Beyond Polar: a usage signal, announced once per customer and period (never a block)."""

    id: str = Field(default_factory=lambda: new_id(), min_length=1, max_length=64)
    type: Literal["units", "credits_percent", "balance_below_zero"]
    value: float | int | None = None

    @model_validator(mode="after")
    def _value(self) -> Threshold:
        if self.type != "balance_below_zero" and (self.value is None or self.value <= 0):
            raise ValueError(f"a {self.type} threshold needs a positive value")
        if self.value is not None and not storable_number(self.value):
            raise ValueError("a number of at most 30 digits, between 1e-100 and 1e100 in size")
        return self


class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=256)
    filter: Filter
    aggregation: Aggregation = Field(discriminator=None)
    unit: Literal["scalar", "token", "custom"] = "scalar"
    custom_label: str | None = None
    custom_multiplier: int | None = Field(default=None, ge=1, le=10**15)
    metadata: dict[str, Any] = Field(default_factory=dict)
    organization_id: str | None = None
    thresholds: list[Threshold] = Field(default_factory=list, max_length=20)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_metadata(value)


class MeterUpdate(BaseModel):
    """Name, unit and metadata only: changing what a meter counts would rewrite history (archive and create)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=256)
    unit: Literal["scalar", "token", "custom"] | None = None
    custom_label: str | None = None
    custom_multiplier: int | None = Field(default=None, ge=1, le=10**15)
    metadata: dict[str, Any] | None = None
    is_archived: bool | None = None
    thresholds: list[Threshold] | None = Field(default=None, max_length=20)


def meter_out(meter: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": meter["id"],
        "created_at": meter["created_at"],
        "modified_at": meter.get("modified_at"),
        "metadata": meter.get("metadata") or {},
        "name": meter["name"],
        "unit": meter.get("unit", "scalar"),
        "custom_label": meter.get("custom_label"),
        "custom_multiplier": meter.get("custom_multiplier"),
        "filter": meter["filter"],
        "aggregation": meter["aggregation"],
        "organization_id": meter["organization_id"],
        "archived_at": meter.get("archived_at"),
        "thresholds": meter.get("thresholds") or [],
    }
