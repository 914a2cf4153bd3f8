"""A meter's aggregate state as a mergeable value, and the exact arithmetic its stored numbers need.

A `Partial` is what one chunk of events contributes to one (customer, meter, period) aggregate; the stored
aggregate holds the same shape, so ingest, backfill and the audit all use this one definition. It lives in the
store layer because it is what an aggregate item holds (the store imports no feature); the meters feature's
pure rules (functions/meters/aggregation.py) compute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow

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
