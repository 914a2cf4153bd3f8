"""A body validated from its raw JSON (the ingest's) gives what a parsed body gives: the same values, the same
422 locations, and invalid JSON as json_invalid."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from functions.common.http import RawJson, parsed_by_pydantic


class Body(BaseModel):
    items: list[Annotated[str, Field(min_length=1)]]


BODY = TypeAdapter(Annotated[Body, parsed_by_pydantic(Body)])


def locations(data: object) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        BODY.validate_python(data)
    return [(e["loc"], e["type"]) for e in caught.value.errors()]


def test_a_raw_body_validates_as_its_parsed_form_does() -> None:
    good, bad = {"items": ["a", "b"]}, {"items": ["a", ""], "extra": 1}
    assert BODY.validate_python(RawJson(json.dumps(good))) == BODY.validate_python(good) == Body(items=["a", "b"])
    assert locations(RawJson(json.dumps(bad))) == locations(bad) == [(("items", 1), "string_too_short")]


@pytest.mark.parametrize("text", ["{not json", "[" * 5000 + "]" * 5000])
def test_invalid_or_too_deep_json_is_json_invalid(text: str) -> None:
    assert [kind for _, kind in locations(RawJson(text))] == ["json_invalid"]
