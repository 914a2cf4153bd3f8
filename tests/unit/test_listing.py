"""Polar's list query parameters (functions/common/listing.py): sorting keys and the metadata filter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.common.errors import ValidationFailed
from functions.common.listing import metadata_filter, metadata_matches, parse_sorting, sort_rows


def test_sorting_keys_apply_in_order_and_unknown_ones_are_a_422() -> None:
    assert parse_sorting(["-created_at", "name"], ("created_at", "name"), "name") == [("created_at", True),
                                                                                      ("name", False)]
    assert parse_sorting("name,-created_at", ("created_at", "name"), "x") == [("name", False), ("created_at", True)]
    assert parse_sorting(None, ("name",), "-name") == [("name", True)]
    with pytest.raises(ValidationFailed) as raised:
        parse_sorting(["colour"], ("name",), "name")
    assert raised.value.errors[0]["loc"] == ["query", "sorting"]
    rows = [{"n": "b", "v": 1}, {"n": "A", "v": 2}, {"n": "c", "v": 1}, {"n": None, "v": 3}]
    ordered = sort_rows(rows, [("v", False), ("n", True)], lambda r, k: r[k])
    assert [r["n"] for r in ordered] == ["c", "b", "A", None]
    assert [r["n"] for r in sort_rows(rows, [("n", False)], lambda r, k: r[k])] == [None, "A", "b", "c"]


def test_metadata_filter_reads_deep_object_keys_and_compares_as_text() -> None:
    wanted = metadata_filter("metadata%5Bplan%5D=pro&metadata[plan]=a,b&metadata[seats]=3&limit=10")
    assert wanted == {"plan": ["pro", "a,b"], "seats": ["3"]}
    assert metadata_matches({"plan": "a,b", "seats": Decimal(3)}, wanted)
    assert not metadata_matches({"plan": "pro"}, wanted)
    assert metadata_matches({"beta": True}, {"beta": ["true"]})
    assert not metadata_matches({"beta": "True"}, {"beta": ["true"]})
    with pytest.raises(ValidationFailed):
        metadata_filter("metadata[]=x")
