"""The API's rules for one event, checked on the caller's thread, and the event's wire encoding.

The rules mirror the server's (functions/events/schemas.py): an event the SDK accepts is one the API accepts,
except for a timestamp that grows too old before it is delivered (an outage longer than 35 days).

`check_event` is on the hot path of `track()`: exact-type tests first, one pass over the metadata, no
allocation beyond the copy of the metadata (copied so that a caller mutating its dict after `track()` changes
nothing that was queued).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any

NAME_MAX = 128
CUSTOMER_ID_MAX = 100
EXTERNAL_CUSTOMER_ID_MAX = 256
EXTERNAL_ID_MAX = 256
METADATA_KEYS_MAX = 50
METADATA_KEY_MAX = 40
STRING_MAX = 500
MAX_AGE_SECONDS = 35 * 86_400
MAX_AHEAD_SECONDS = 5 * 60
# The server's rule for metadata numbers (functions/common/metadata.py, which this package cannot import: it ships
# alone): below 10^16 in size with at most 12 decimal places, so that sums over a period stay exact in DynamoDB.
# A float is read as its shortest decimal form, the digits the caller wrote.
NUMBER_LIMIT = 10**16
DECIMAL_PLACES = 12


class InvalidEvent(ValueError):
    """The event breaks one of the API's rules; the message says which, in the server's words."""


def _number(key: str, value: Any) -> Any:
    """A number as the API stores it, or InvalidEvent. Decimal stays Decimal (exact) unless it is integral."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -NUMBER_LIMIT < value < NUMBER_LIMIT:
            return int(value)
    elif isinstance(value, float):
        if -NUMBER_LIMIT < value < NUMBER_LIMIT and _places(Decimal(repr(value))) <= DECIMAL_PLACES:
            return float(value)
    elif isinstance(value, Decimal) and value.is_finite() and abs(value) < NUMBER_LIMIT:
        if value == value.to_integral_value():
            return int(value)  # 12, 12.00 and 1.2E+1 all arrive as the integer 12
        if _places(value) <= DECIMAL_PLACES:
            return value
    raise InvalidEvent(f"metadata value of {key!r} must be a finite number below 10^16 in size with at most "
                       "12 decimal places")


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return 0 if value == 0 or not isinstance(exponent, int) else max(0, -exponent)


def _other(key: str, value: Any) -> Any:
    """The slow path for what is not exactly str/int/float/bool: subclasses, Decimal, dates, UUID."""
    if isinstance(value, str):
        value = str.__str__(value)  # a str subclass (StrEnum...) travels as its plain text
        if len(value) > STRING_MAX:
            raise InvalidEvent(f"metadata value of {key!r} is longer than 500 characters")
        return value
    if isinstance(value, int | float | Decimal):
        return _number(key, value)
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()  # ISO 8601, as the API writes timestamps; at most 32 characters
    if isinstance(value, uuid.UUID):
        return str(value)
    raise InvalidEvent(f"metadata value of {key!r} must be a string, number, boolean, Decimal, datetime or UUID, "
                       f"not {type(value).__name__}")


def _scalar(key: str, value: Any) -> Any:
    kind = type(value)
    if kind is str:
        if len(value) > STRING_MAX:
            raise InvalidEvent(f"metadata value of {key!r} is longer than 500 characters")
        return value
    if kind is int:
        if -NUMBER_LIMIT < value < NUMBER_LIMIT:
            return value
        return _number(key, value)
    if kind is float or kind is bool:
        return _number(key, value) if kind is float else value
    return _other(key, value)


def clean_metadata(metadata: Any) -> dict[str, Any]:
    """A checked copy of the metadata, with Decimal kept exact and datetime/UUID turned into strings."""
    if type(metadata) is dict:
        clean = metadata.copy()  # C speed; values are checked (and converted in place) below
    elif isinstance(metadata, Mapping):
        clean = dict(metadata)
    else:
        raise InvalidEvent(f"metadata must be a mapping, not {type(metadata).__name__}")
    if len(clean) > METADATA_KEYS_MAX:
        raise InvalidEvent("metadata can hold at most 50 keys")
    for key, value in clean.items():
        if type(key) is not str or not 0 < len(key) <= METADATA_KEY_MAX:
            raise InvalidEvent(f"metadata key {str(key)[:50]!r} must be a string of 1 to 40 characters")
        kind = type(value)
        if kind is str:
            if len(value) > STRING_MAX:
                raise InvalidEvent(f"metadata value of {key!r} is longer than 500 characters")
        elif kind is int:
            if not -NUMBER_LIMIT < value < NUMBER_LIMIT:
                _number(key, value)
        elif kind is float:
            _number(key, value)
        elif kind is not bool:
            # Replacing the value of an existing key while iterating is safe: the dict does not change size.
            if isinstance(value, Mapping) and key[0] == "_":
                # Polar's structured keys (`_llm`, `_cost`) carry one level of nested scalars (None allowed).
                clean[key] = {str(inner): None if inner_value is None else _scalar(f"{key}.{inner}", inner_value)
                              for inner, inner_value in value.items()}
            else:
                clean[key] = _other(key, value)
    return clean


def check_event(name: Any, external_customer_id: Any, customer_id: Any, metadata: Any, timestamp: Any,
                external_id: Any) -> tuple[dict[str, Any] | None, float | datetime]:
    """(checked metadata copy, moment) of a valid event; InvalidEvent otherwise."""
    if type(name) is not str and not isinstance(name, str):
        raise InvalidEvent("name must be a string")
    if not 0 < len(name) <= NAME_MAX:
        raise InvalidEvent("name must be 1 to 128 characters")
    if customer_id is None:
        if external_customer_id is None:
            raise InvalidEvent("give exactly one of customer_id or external_customer_id")
        if not isinstance(external_customer_id, str) or not 0 < len(external_customer_id) <= EXTERNAL_CUSTOMER_ID_MAX:
            raise InvalidEvent("external_customer_id must be a string of 1 to 256 characters")
    elif external_customer_id is not None:
        raise InvalidEvent("give exactly one of customer_id or external_customer_id")
    elif not isinstance(customer_id, str) or not 0 < len(customer_id) <= CUSTOMER_ID_MAX:
        raise InvalidEvent("customer_id must be a string of 1 to 100 characters")
    if external_id is not None and (not isinstance(external_id, str) or not 0 < len(external_id) <= EXTERNAL_ID_MAX):
        raise InvalidEvent("external_id must be a string of 1 to 256 characters")
    clean = clean_metadata(metadata) if metadata else None
    if timestamp is None:
        return clean, time.time()
    if not isinstance(timestamp, datetime):
        raise InvalidEvent("timestamp must be a datetime")
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise InvalidEvent("timestamp must be timezone-aware")
    seconds, now = timestamp.timestamp(), time.time()
    if seconds < now - MAX_AGE_SECONDS:
        raise InvalidEvent("timestamp is more than 35 days in the past")
    if seconds > now + MAX_AHEAD_SECONDS:
        raise InvalidEvent("timestamp is more than 5 minutes in the future")
    return clean, timestamp


# Encoding (worker thread) --------------------------------------------------------------------------------------

# The json module writes a Decimal only through float (binary, inexact). A Decimal is written as a string
# carrying this per-process mark, and the mark is then cut so that the JSON holds the Decimal's exact digits
# as a number (what the API expects: a number a meter can sum). No caller string can hold the random mark.
_DECIMAL_MARK = f"meterbill-decimal-{uuid.uuid4().hex}:"
_DECIMAL_STRING = re.compile('"' + re.escape(_DECIMAL_MARK) + '([^"]*)"')


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode(item: tuple[Any, ...], prefix: str = "") -> str:
    """One queued event as the API's JSON (one line: json.dumps escapes every newline)."""
    name, external_customer_id, customer_id, metadata, moment, external_id = item
    if type(external_id) is int:  # the buffer's sequence number: its id is `{buffer prefix}-{number}`
        external_id = f"{prefix}-{external_id}"
    stamp = moment if isinstance(moment, datetime) else datetime.fromtimestamp(moment, tz=timezone.utc)
    event: dict[str, Any] = {"name": name, "external_id": external_id, "timestamp": stamp.isoformat()}
    if customer_id is not None:
        event["customer_id"] = customer_id
    else:
        event["external_customer_id"] = external_customer_id
    if metadata:
        event["metadata"] = metadata
    text = json.dumps(event, separators=(",", ":"), default=_json_default, allow_nan=False)
    if _DECIMAL_MARK in text:
        text = _DECIMAL_STRING.sub(r"\1", text)
    return text


def as_event(name: Any, external_customer_id: Any, customer_id: Any, metadata: Any, timestamp: Any,
             external_id: Any) -> dict[str, Any]:
    """An event refused before encoding, for `on_rejected`: the values as the caller gave them."""
    return {"name": name, "external_customer_id": external_customer_id, "customer_id": customer_id,
            "metadata": metadata, "timestamp": timestamp, "external_id": external_id}
