"""Metadata and number rules shared by every request that carries them (events, meters, customers, products):
pure, no pydantic (the request models call them from their validators)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


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
    if isinstance(value, float):  # first: check_metadata calls this for every float an event holds
        if not -METERED_LIMIT < value < METERED_LIMIT:  # also refuses nan and inf
            return False
        text = repr(value)
        if "e" not in text and "E" not in text:
            return len(text) - text.index(".") - 1 <= METERED_DECIMAL_PLACES
        value = Decimal(text)
    elif isinstance(value, bool):
        return True
    elif isinstance(value, int):
        return -METERED_LIMIT < value < METERED_LIMIT
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
        kind = type(value)  # the common kinds by exact type first: this runs once per ingested event and key
        if kind is str:
            if len(value) <= 500:
                continue
        elif kind is int:
            if -METERED_LIMIT < value < METERED_LIMIT:
                continue
        elif kind is float and metered_number(value):
            continue
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
