"""The rules across an event's fields run once over a request, after its fields validate, and are located as
pydantic locates a validator's error; a bulk line gets the same rules one event at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

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
    assert checked_event({"name": "a", "customer_id": "x"}).customer_id == "x"
