"""Polar's meter shapes (MeterCreate, MeterUpdate, Meter, MeterQuantities), plus the `last` aggregation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from functions.common.ids import new_id
from functions.common.metadata import check_metadata, storable_number
from functions.common.request_types import Metadata, RequestModel
from functions.common.schemas import lazy_models
from functions.store import entities

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"]


class FilterClause(RequestModel):
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


class Filter(RequestModel):
    # Extra keys are refused so that a malformed clause can never pass as an empty (match-all) filter.
    model_config = ConfigDict(extra="forbid")

    conjunction: Literal["and", "or"] = "and"
    clauses: list[FilterClause | Filter] = Field(default_factory=list)


# A filter is stored as nested maps and matched against every ingested event: bounded in depth (DynamoDB
# nests at most 32 levels, two per filter level) and in clauses (size and matching cost).
MAX_FILTER_DEPTH = 10
MAX_FILTER_CLAUSES = 100


def _bounded_filter(value: Any) -> Any:
    """Checked on the raw input, before pydantic recurses into it: a filter nested 10,000 deep is one 422."""
    pending, clauses = [(value, 1)], 0
    while pending:
        node, depth = pending.pop()
        if depth > MAX_FILTER_DEPTH:
            raise ValueError(f"a filter nests at most {MAX_FILTER_DEPTH} levels")
        inner = node.get("clauses") if isinstance(node, dict) else None
        if isinstance(inner, list):
            clauses += len(inner)
            if clauses > MAX_FILTER_CLAUSES:
                raise ValueError(f"a filter has at most {MAX_FILTER_CLAUSES} clauses in all")
            pending.extend((child, depth + 1) for child in inner if isinstance(child, dict) and "clauses" in child)
    return value


BoundedFilter = Annotated[Filter, BeforeValidator(_bounded_filter)]


class CountAggregation(RequestModel):
    func: Literal["count"] = "count"


class PropertyAggregation(RequestModel):
    func: Literal["sum", "avg", "min", "max", "last"]
    property: str = Field(min_length=1, max_length=256)


class UniqueAggregation(RequestModel):
    func: Literal["unique"] = "unique"
    property: str = Field(min_length=1, max_length=256)


Aggregation = CountAggregation | PropertyAggregation | UniqueAggregation


class Threshold(RequestModel):
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


class MeterCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    filter: BoundedFilter
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


class MeterUpdate(RequestModel):
    """Name, unit and metadata only: changing what a meter counts would rewrite history (archive and create).
    Polar's `filter` and `aggregation` are therefore a 422 that names them, like any unknown field."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=256)
    unit: Literal["scalar", "token", "custom"] | None = None
    custom_label: str | None = None
    custom_multiplier: int | None = Field(default=None, ge=1, le=10**15)
    metadata: Metadata | None = None
    is_archived: bool | None = None
    thresholds: list[Threshold] | None = Field(default=None, max_length=20)


def meter_out(meter: entities.Meter) -> dict[str, Any]:
    """The store's Meter as Polar's Meter (the `Meter` response model below)."""
    return {
        "id": meter.id,
        "created_at": meter.created_at,
        "modified_at": meter.modified_at,
        "metadata": meter.metadata or {},
        "name": meter.name,
        "unit": meter.unit,
        "custom_label": meter.custom_label,
        "custom_multiplier": meter.custom_multiplier,
        "filter": meter.filter,
        "aggregation": meter.aggregation,
        "organization_id": meter.organization_id,
        "archived_at": meter.archived_at,
        "thresholds": meter.thresholds or [],
    }


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from functions.common.metadata import MetadataValue
    from functions.common.schemas import Schema

    class Meter(Schema):
        """Polar's Meter, plus `unit`, `custom_label`, `custom_multiplier` and `thresholds`."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        metadata: dict[str, MetadataValue]
        name: str
        unit: Literal["scalar", "token", "custom"]
        custom_label: str | None
        custom_multiplier: int | None
        filter: Filter
        aggregation: Aggregation
        organization_id: str
        archived_at: datetime | None
        thresholds: list[Threshold]

    class MeterQuantity(Schema):
        timestamp: datetime
        quantity: float

    class MeterQuantities(Schema):
        quantities: list[MeterQuantity]
        total: float

    return {"Meter": Meter, "MeterQuantity": MeterQuantity, "MeterQuantities": MeterQuantities}


__getattr__ = lazy_models(_response_models)
