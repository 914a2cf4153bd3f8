"""Filter rules against a plain-Python oracle written independently of functions/meters/filter.py."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from functions.meters.filter import matches

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
values = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.sampled_from(["a", "ab", "B", ""]),
                   st.booleans())
operators = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"])


def kind(v):
    return "bool" if isinstance(v, bool) else "num" if isinstance(v, int | float) else "str"


def oracle_clause(op, actual, expected) -> bool:
    if actual is None or kind(actual) != kind(expected):
        return False
    if op in ("like", "not_like"):
        if kind(actual) != "str":
            return False
        inside = expected.lower() in actual.lower()
        return inside if op == "like" else not inside
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if kind(actual) == "bool":
        return False
    return {"gt": actual > expected, "gte": actual >= expected, "lt": actual < expected,
            "lte": actual <= expected}[op]


@given(op=operators, actual=st.one_of(st.none(), values), expected=values)
def test_single_clause_matches_oracle(op, actual, expected) -> None:
    metadata = {} if actual is None else {"p": actual}
    event = {"name": "e", "timestamp": NOW, "metadata": metadata}
    clause = {"property": "p", "operator": op, "value": expected}
    assert matches({"conjunction": "and", "clauses": [clause]}, event) == oracle_clause(op, actual, expected)


@given(st.lists(st.tuples(operators, values, values), min_size=1, max_size=4), st.sampled_from(["and", "or"]))
def test_conjunctions_match_oracle(clauses, conjunction) -> None:
    metadata = {f"k{i}": actual for i, (_, actual, _) in enumerate(clauses)}
    event = {"name": "e", "timestamp": NOW, "metadata": metadata}
    filter_ = {"conjunction": conjunction, "clauses": [
        {"property": f"k{i}", "operator": op, "value": exp} for i, (op, _, exp) in enumerate(clauses)
    ]}
    results = [oracle_clause(op, act, exp) for op, act, exp in clauses]
    assert matches(filter_, event) == (all(results) if conjunction == "and" else any(results))


def test_nested_filters_name_and_dotted_paths() -> None:
    event = {"name": "llm.call", "timestamp": NOW, "metadata": {"_llm": {"model": "gpt-5", "input_tokens": 40}}}
    nested = {
        "conjunction": "and",
        "clauses": [
            {"property": "name", "operator": "like", "value": "llm"},
            {"conjunction": "or", "clauses": [
                {"property": "_llm.model", "operator": "eq", "value": "claude"},
                {"property": "metadata._llm.input_tokens", "operator": "gte", "value": 40},
            ]},
        ],
    }
    assert matches(nested, event)
    event["metadata"]["_llm"]["input_tokens"] = 39
    assert not matches(nested, event)


def test_timestamp_compares_as_time_and_string_number_mismatch_is_no_match() -> None:
    event = {"name": "e", "timestamp": NOW, "metadata": {"n": 5}}
    assert matches({"clauses": [{"property": "timestamp", "operator": "gte", "value": "2026-11-10T00:00:00Z"}]},
                   event)
    assert not matches({"clauses": [{"property": "timestamp", "operator": "lt", "value": "2026-11-10T00:00:00Z"}]},
                       event)
    assert not matches({"clauses": [{"property": "n", "operator": "eq", "value": "5"}]}, event)
    assert matches({"clauses": []}, event)
