"""Meter aggregations as mergeable partial states. Pure, exact (Decimal), no I/O.

The state itself (`Partial`) and its exact arithmetic live with the aggregate item, in
functions/store/partial.py; this module computes it from events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, Inexact, InvalidOperation, Overflow
from typing import Any

from functions.meters.filter import MISSING, property_getter
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
    if type(value) is int:  # the common kind first: this runs once per ingested event and meter
        return Decimal(value)
    if isinstance(value, float):
        # inf - inf and nan - nan are nan, which equals nothing: finite floats only. The shortest repr is the
        # number the client wrote.
        return Decimal(repr(value)) if value - value == 0 else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def unique_marker(value: Any) -> str | None:
    """Values are distinct by type and text: "s:1" and "n:1" are two values."""
    if type(value) is str:  # the common kind first: this runs once per ingested event and unique meter
        return "s:" + value
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


def _one(_: dict[str, Any]) -> int:
    return 1


def value_converter(func: str) -> Callable[[Any], Any] | None:
    """What a meter with this function makes of its property's value (None: a count, which reads none)."""
    if func == "count":
        return None
    return unique_marker if func == "unique" else numeric


def value_getter(aggregation: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    """What one event adds to a meter with this aggregation, as its adder (`ADDERS`) takes it, or None if it
    adds nothing: 1 for a count, the number (a Decimal) for sum/avg/min/max/last (matching.py pairs a last's
    with the event's order), the typed marker for unique. Compiled once per meter."""
    convert = value_converter(aggregation["func"])
    if convert is None:
        return _one
    get = property_getter(aggregation["property"])
    return lambda event: convert(get(event))


# Each function carries only what it needs: fewer conditions on the aggregate, fewer write conflicts. A sum is
# added with EXACT's add, which raises instead of rounding (Inexact: functions/store/partial.py); ingest reads
# that as NotExact (`exactly`).
def _add_count(state: Partial, _: int) -> None:
    state.count += 1


def _add_sum(state: Partial, number: Decimal) -> None:
    state.count += 1
    state.total = EXACT.add(state.total, number)


def _add_min(state: Partial, number: Decimal) -> None:
    state.count += 1
    if state.minimum is None or number < state.minimum:
        state.minimum = number


def _add_max(state: Partial, number: Decimal) -> None:
    state.count += 1
    if state.maximum is None or number > state.maximum:
        state.maximum = number


def _add_unique(state: Partial, marker: str) -> None:
    state.uniques.add(marker)


def _add_last(state: Partial, value: tuple[str, Decimal]) -> None:
    state.count += 1
    order_key, number = value
    if state.last_at is None or order_key >= state.last_at:
        state.last_at, state.last_value = order_key, number


ADDERS: dict[str, Callable[[Partial, Any], None]] = {
    "count": _add_count, "sum": _add_sum, "avg": _add_sum, "min": _add_min, "max": _add_max,
    "unique": _add_unique, "last": _add_last,
}


@contextmanager
def exactly() -> Iterator[None]:
    """Sums added by `ADDERS` that DynamoDB could not store exactly raise NotExact."""
    try:
        yield
    except (Inexact, Overflow, InvalidOperation) as exc:
        raise NotExact(f"a sum needs more than {STORED_DIGITS} significant digits") from exc


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
