"""Meter filters: nested and/or clauses over an event's name, timestamp and metadata. Pure, no I/O.

Comparison is type-aware: a clause only matches a value of its own kind (number with number, string with
string, bool with bool); a mismatch is no match. `like` means "contains" for strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.common.clock import parse_iso

MISSING = object()


def event_property(event: dict[str, Any], path: str) -> Any:
    """`name`, `timestamp`, or a metadata key; dotted paths reach nested metadata ("_llm.model")."""
    if path == "name":
        return event["name"]
    if path == "timestamp":
        return event["timestamp"]
    if path.startswith("metadata."):
        path = path[len("metadata."):]
    value: Any = event.get("metadata") or {}
    if path in value:  # a flat key that itself contains dots wins
        return value[path]
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "time"
    return None


def _coerce_clause_value(actual: Any, expected: Any) -> Any:
    """Timestamps compare as times; the clause gives them as ISO strings or epoch seconds."""
    if isinstance(actual, datetime):
        if isinstance(expected, str):
            try:
                return parse_iso(expected)
            except ValueError:
                return MISSING
        if _kind(expected) == "number":
            return datetime.fromtimestamp(expected, tz=actual.tzinfo)
    return expected


def clause_matches(clause: dict[str, Any], event: dict[str, Any]) -> bool:
    actual = event_property(event, clause["property"])
    if actual is MISSING or actual is None:
        return False
    expected = _coerce_clause_value(actual, clause["value"])
    operator = clause["operator"]
    kind = _kind(actual)
    if kind is None or kind != _kind(expected):
        return False
    if operator == "eq":
        return bool(actual == expected)
    if operator == "ne":
        return bool(actual != expected)
    if operator in ("like", "not_like"):
        if kind != "string":
            return False
        contained = expected.lower() in actual.lower()
        return contained if operator == "like" else not contained
    if kind == "bool":
        return False  # booleans have no order
    if operator == "gt":
        return bool(actual > expected)
    if operator == "gte":
        return bool(actual >= expected)
    if operator == "lt":
        return bool(actual < expected)
    if operator == "lte":
        return bool(actual <= expected)
    return False


def matches(filter_: dict[str, Any], event: dict[str, Any]) -> bool:
    """An empty clause list matches every event (Polar's behaviour for `and`; `or` of nothing too)."""
    clauses = filter_.get("clauses") or []
    if not clauses:
        return True
    results = (
        matches(c, event) if "clauses" in c else clause_matches(c, event) for c in clauses
    )
    if filter_.get("conjunction", "and") == "or":
        return any(results)
    return all(results)
