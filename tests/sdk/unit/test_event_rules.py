"""The SDK's copy of the API's event rules (checked on the caller's thread) and the wire encoding.

Agreement with the server's own validator on generated events is in tests/sdk/test_rules_agree.py."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum

import pytest

from meterbill_sdk.events import InvalidEvent, check_event, clean_metadata, encode

NOW = datetime.now(timezone.utc)


def check(name="n", external_customer_id="c", customer_id=None, metadata=None, timestamp=None, external_id=None):
    return check_event(name, external_customer_id, customer_id, metadata, timestamp, external_id)


@pytest.mark.parametrize("arguments, message", [
    ({"name": ""}, "name must be 1 to 128"),
    ({"name": "x" * 129}, "name must be 1 to 128"),
    ({"name": 7}, "name must be a string"),
    ({"external_customer_id": None}, "exactly one"),
    ({"customer_id": "cus_1"}, "exactly one"),
    ({"external_customer_id": ""}, "external_customer_id must be"),
    ({"external_customer_id": "x" * 257}, "external_customer_id must be"),
    ({"external_customer_id": None, "customer_id": "x" * 101}, "customer_id must be"),
    ({"external_id": ""}, "external_id must be"),
    ({"metadata": {"k": "x" * 501}}, "longer than 500"),
    ({"metadata": {"": 1}}, "1 to 40 characters"),
    ({"metadata": {"k" * 41: 1}}, "1 to 40 characters"),
    ({"metadata": {1: 1}}, "1 to 40 characters"),
    ({"metadata": {f"k{i}": i for i in range(51)}}, "at most 50 keys"),
    ({"metadata": {"n": 10**16}}, "below 10\\^16"),
    ({"metadata": {"n": -(10**16)}}, "below 10\\^16"),
    ({"metadata": {"n": Decimal("0.0000000000001")}}, "12 decimal places"),
    ({"metadata": {"n": float("nan")}}, "finite number"),
    ({"metadata": {"n": float("inf")}}, "finite number"),
    ({"metadata": {"n": 1e100}}, "finite number"),
    ({"metadata": {"n": 1e-101}}, "finite number"),
    ({"metadata": {"n": Decimal("NaN")}}, "finite number"),
    ({"metadata": {"n": Decimal("1e100")}}, "finite number"),
    ({"metadata": {"n": None}}, "must be a string, number"),
    ({"metadata": {"n": [1, 2]}}, "must be a string, number"),
    ({"metadata": {"nested": {"a": 1}}}, "must be a string, number"),  # only `_` keys may nest
    ({"metadata": {"_llm": {"model": "x" * 501}}}, "longer than 500"),
    ({"metadata": {"_llm": {"deeper": {"a": 1}}}}, "must be a string, number"),
    ({"metadata": ["k"]}, "must be a mapping"),
    ({"timestamp": datetime(2030, 1, 1)}, "timezone-aware"),  # noqa: DTZ001 - naive on purpose
    ({"timestamp": "2030-01-01T00:00:00Z"}, "must be a datetime"),
    ({"timestamp": NOW - timedelta(days=35, minutes=1)}, "35 days"),
    ({"timestamp": NOW + timedelta(minutes=10)}, "5 minutes"),  # NOW is taken at import: keep a wide margin
])
def test_an_event_breaking_a_rule_is_refused_with_the_servers_words(arguments, message) -> None:
    with pytest.raises(InvalidEvent, match=message):
        check(**arguments)


def test_the_limits_themselves_are_allowed() -> None:
    metadata = {("k" * 38 + f"{i:02d}"): "x" * 500 for i in range(50)}
    clean, _ = check(name="x" * 128, external_customer_id="c" * 256, metadata=metadata,
                     timestamp=NOW - timedelta(days=34, hours=23), external_id="e" * 256)
    assert clean == metadata and clean is not metadata
    assert check(external_customer_id=None, customer_id="c" * 100, metadata={
        "big": 10**16 - 1, "small": 1e-12, "zero": 0.0, "flag": False, "_llm": {"model": "m", "cost": None}},
        timestamp=NOW + timedelta(minutes=4))[0]["big"] == 10**16 - 1


def test_metadata_is_copied_so_later_changes_by_the_caller_change_nothing_queued() -> None:
    nested = {"input_tokens": 3}
    metadata = {"path": "/a", "_llm": nested}
    clean, _ = check(metadata=metadata)
    metadata["path"] = "/b"
    nested["input_tokens"] = 99
    assert clean == {"path": "/a", "_llm": {"input_tokens": 3}}


class Color(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def test_decimal_datetime_uuid_and_subclasses_are_encoded_as_the_api_expects() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    clean = clean_metadata({"cost": Decimal("0.1"), "whole": Decimal("12.00"), "tiny": Decimal("1.5E-7"),
                            "long": Decimal("1234567890.123456789012"), "at": stamp,
                            "day": date(2026, 1, 2), "id": ident, "level": Level.HIGH,
                            "_cost": {"amount": Decimal("2.5")}})
    line = encode(("name", "cust", None, clean, stamp, "ext-1"))
    exact = json.loads(line, parse_float=Decimal)  # the JSON's own digits, not a float's
    assert exact["metadata"] == {"cost": Decimal("0.1"), "whole": 12, "tiny": Decimal("1.5E-7"),
                                 "long": Decimal("1234567890.123456789012"),
                                 "at": "2026-01-02T03:04:05+00:00", "day": "2026-01-02",
                                 "id": "12345678-1234-5678-1234-567812345678", "level": 3,
                                 "_cost": {"amount": Decimal("2.5")}}
    assert exact["timestamp"] == "2026-01-02T03:04:05+00:00" and exact["external_id"] == "ext-1"
    assert "\n" not in line
    with pytest.raises(InvalidEvent, match="not Color"):
        clean_metadata({"color": Color.RED})


def test_a_caller_string_cannot_be_mistaken_for_a_decimal() -> None:
    tricky = '"meterbill-decimal-:1"'
    line = encode(("n", "c", None, clean_metadata({"s": tricky, "d": Decimal("1.5")}), 0.0, "e"))
    assert json.loads(line)["metadata"] == {"s": tricky, "d": 1.5}


def test_timestamps_default_to_now_and_keep_the_callers_offset() -> None:
    _, moment = check()
    assert isinstance(moment, float)
    encoded = json.loads(encode(("n", "c", None, None, moment, "e")))["timestamp"]
    assert abs(datetime.fromisoformat(encoded) - datetime.now(timezone.utc)) < timedelta(seconds=5)
    paris = datetime.now(timezone(timedelta(hours=2)))
    assert json.loads(encode(("n", "c", None, None, check(timestamp=paris)[1], "e")))["timestamp"] == paris.isoformat()
