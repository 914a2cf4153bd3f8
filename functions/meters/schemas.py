"""Polar's meter shapes (MeterCreate, MeterUpdate, Meter, MeterQuantities), plus the `last` aggregation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.events.schemas import check_metadata

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"]


class FilterClause(BaseModel):
    property: str = Field(min_length=1, max_length=256)
    operator: Operator
    value: str | int | float | bool


class Filter(BaseModel):
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


class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=256)
    filter: Filter
    aggregation: Aggregation = Field(discriminator=None)
    unit: Literal["scalar", "token", "custom"] = "scalar"
    custom_label: str | None = None
    custom_multiplier: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    organization_id: str | None = None

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
    custom_multiplier: int | None = None
    metadata: dict[str, Any] | None = None
    is_archived: bool | None = None


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
    }
