"""Meter aggregations as mergeable partial states. Pure, exact (Decimal), no I/O.

The state itself (`Partial`) and its exact arithmetic live with the aggregate item, in
functions/store/partial.py; this module computes it from events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from functions.meters.filter import MISSING, event_property
from functions.store.partial import (  # noqa: F401 (the meters feature's names for them)
    EXACT,
    STORED_DIGITS,
    NotExact,
    Partial,
    exact_add,
    exact_subtract,
)

FUNCS = ("count", "sum", "avg", "min", "max", "unique", "last")

def numeric(value: Any) -> Decimal | None:
    """Only real numbers count for sum/avg/min/max (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    return Decimal(value)


def unique_marker(value: Any) -> str | None:
    """Values are distinct by type and text: "s:1" and "n:1" are two values."""
    if value is MISSING or value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return f"b:{str(value).lower()}"
    if isinstance(value, int | float | Decimal):
        number = numeric(value)
        if number is None:
            return None
        return "n:0" if number == 0 else f"n:{number.normalize()}"  # -0.0, 0 and 0.0 are one value
    return f"s:{value}"


def contribution(aggregation: dict[str, Any], event: dict[str, Any], order_key: str) -> Partial | None:
    """What one event adds to a meter with this aggregation, or None if it adds nothing."""
    func = aggregation["func"]
    if func == "count":
        return Partial(count=1)
    value = event_property(event, aggregation["property"])
    if func == "unique":
        marker = unique_marker(value)
        return None if marker is None else Partial(uniques={marker})
    number = numeric(value)
    if number is None:
        return None
    # Each function carries only what it needs: fewer conditions on the aggregate, fewer write conflicts.
    if func in ("sum", "avg"):
        return Partial(count=1, total=number)
    if func == "min":
        return Partial(count=1, minimum=number)
    if func == "max":
        return Partial(count=1, maximum=number)
    if func == "last":
        return Partial(count=1, last_value=number, last_at=order_key)
    raise ValueError(f"unknown aggregation {func}")


def value_of(func: str, state: Partial, unique_count: int | None = None) -> Decimal:
    """The meter's number for a state. For `unique` the stored count stands in for the marker set."""
    if func == "count":
        return Decimal(state.count)
    if func == "sum":
        return state.total
    if func == "avg":
        return state.total / state.count if state.count else Decimal(0)
    if func == "min":
        return state.minimum if state.minimum is not None else Decimal(0)
    if func == "max":
        return state.maximum if state.maximum is not None else Decimal(0)
    if func == "unique":
        return Decimal(unique_count if unique_count is not None else len(state.uniques))
    if func == "last":
        return state.last_value if state.last_value is not None else Decimal(0)
    raise ValueError(f"unknown aggregation {func}")
