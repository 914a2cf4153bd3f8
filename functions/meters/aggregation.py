"""Meter aggregations as mergeable partial states. Pure, exact (Decimal), no I/O.

A `Partial` is what one chunk of events contributes to one (customer, meter, period) aggregate; the stored
aggregate is the same shape, so ingest, backfill and the audit all use this one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Any

from functions.meters.filter import MISSING, event_property

FUNCS = ("count", "sum", "avg", "min", "max", "unique", "last")

# Sums are stored in DynamoDB, which keeps 38 significant digits. Python's default context (28 digits) would
# round a longer sum without a word; this one computes to DynamoDB's precision and raises instead of rounding.
STORED_DIGITS = 38
EXACT = Context(prec=STORED_DIGITS, traps=[Inexact, Overflow, InvalidOperation])


class NotExact(ArithmeticError):
    """A sum that DynamoDB could not store exactly (more than 38 significant digits)."""


def exact_add(a: Decimal, b: Decimal) -> Decimal:
    try:
        return EXACT.add(a, b)
    except (Inexact, Overflow, InvalidOperation) as exc:
        raise NotExact(f"{a} + {b} needs more than {STORED_DIGITS} significant digits") from exc


def exact_subtract(a: Decimal, b: Decimal) -> Decimal:
    try:
        return EXACT.subtract(a, b)
    except (Inexact, Overflow, InvalidOperation) as exc:
        raise NotExact(f"{a} - {b} needs more than {STORED_DIGITS} significant digits") from exc


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


@dataclass(slots=True)
class Partial:
    count: int = 0  # events counted (for sum/avg/min/max: events whose property was numeric)
    total: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    uniques: set[str] = field(default_factory=set)
    last_value: Decimal | None = None
    # Order key of the latest event counted for `last`: "{timestamp}#{event id}", so that events with the
    # same timestamp still have one deterministic last (the greater id), however they were chunked.
    last_at: str | None = None

    def merge(self, other: Partial) -> Partial:
        self.count += other.count
        if other.total:
            self.total = exact_add(self.total, other.total)
        if other.minimum is not None and (self.minimum is None or other.minimum < self.minimum):
            self.minimum = other.minimum
        if other.maximum is not None and (self.maximum is None or other.maximum > self.maximum):
            self.maximum = other.maximum
        self.uniques |= other.uniques
        if other.last_at is not None and (self.last_at is None or other.last_at >= self.last_at):
            self.last_at, self.last_value = other.last_at, other.last_value
        return self


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
