"""The rules across an event's fields run once over a request, after its fields validate, and are located as
pydantic locates a validator's error; a bulk line gets the same rules one event at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from functions.common.clock import iso
from functions.events.schemas import EventsIngest, checked_event


def errors(body: dict) -> list[tuple[tuple, str, str]]:
    with pytest.raises(ValidationError) as caught:
        EventsIngest.model_validate(body)
    return [(e["loc"], e["type"], e["msg"]) for e in caught.value.errors()]


def test_the_rules_name_each_bad_event_and_field_and_come_after_the_fields() -> None:
    old = (datetime.now(UTC) - timedelta(days=36)).isoformat()
    good = {"name": "a", "external_customer_id": "c"}
    body = {"events": [good, {"name": "a"}, {**good, "timestamp": old}, {**good, "metadata": {"k": [1]}}]}
    assert [(loc, kind) for loc, kind, _ in errors(body)] == [
        (("events", 1, "external_customer_id"), "value_error"), (("events", 2, "timestamp"), "value_error"),
        (("events", 3, "metadata"), "value_error")]
    assert "35 days" in errors(body)[1][2] and errors(body)[1][2].startswith("Value error, ")
    # A field error elsewhere is reported alone: the rules wait for every event's fields.
    assert errors({"events": [*body["events"], {"name": ""}]}) == [
        (("events", 4, "name"), "string_too_short", "String should have at least 1 character")]


def test_a_single_event_gets_the_same_rules() -> None:
    with pytest.raises(ValidationError) as caught:
        checked_event({"name": "a", "customer_id": "x", "external_customer_id": "c"})
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [(("external_customer_id",), "value_error")]
    assert checked_event({"name": "a", "customer_id": "x"})["customer_id"] == "x"


def test_a_valid_timestamp_leaves_validation_in_canonical_utc_form() -> None:
    moment = datetime.now(UTC).replace(microsecond=123456) - timedelta(hours=1)
    canonical = iso(moment)
    paris = moment.astimezone(timezone(timedelta(hours=1))).isoformat()
    body = {"events": [{"name": "a", "customer_id": "x", "timestamp": text}
                       for text in (canonical, paris, moment.isoformat(timespec="milliseconds"))]}
    events = EventsIngest.model_validate(body).events
    assert [e["timestamp"] for e in events] == [canonical, canonical, canonical[:23] + "000Z"]
    assert checked_event({"name": "a", "customer_id": "x", "timestamp": paris})["timestamp"] == canonical


@pytest.mark.parametrize("text", ["yesterday", "2026-02-30T00:00:00.000000Z", "2026-12-08T01:00:00"])
def test_a_timestamp_that_is_no_zoned_iso_time_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        checked_event({"name": "a", "customer_id": "x", "timestamp": text})
    assert [e["loc"] for e in caught.value.errors()] == [("timestamp",)]
