"""Meter filters: nested and/or clauses over an event's name, timestamp and metadata. Pure, no I/O.

Comparison is type-aware: a clause only matches a value of its own kind (number with number, string with
string, bool with bool); a mismatch is no match. `like` means "contains" for strings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
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


KINDS: dict[type, str] = {bool: "bool", int: "number", float: "number", str: "string", datetime: "time"}

Predicate = Callable[[dict[str, Any]], bool]


def _kind(value: Any) -> str | None:
    return KINDS.get(type(value))


def metadata_key(path: str) -> str | None:
    """The metadata key a path reads when it is one key at the top of the metadata (most are), else None."""
    if path in ("name", "timestamp"):
        return None
    key = path[len("metadata."):] if path.startswith("metadata.") else path
    return None if "." in key else key


def property_getter(path: str) -> Callable[[dict[str, Any]], Any]:
    """`event_property` of one path, with what does not depend on the event done once."""
    if path == "name":
        return lambda event: event["name"]
    if path == "timestamp":
        return lambda event: event["timestamp"]
    key = metadata_key(path)
    if key is not None:
        return lambda event: (event.get("metadata") or {}).get(key, MISSING)
    return lambda event: event_property(event, path)


def _expected(path: str, value: Any) -> Any:
    """Timestamps compare as times; the clause gives them as ISO strings or epoch seconds."""
    if path != "timestamp":
        return value
    if isinstance(value, str):
        try:
            return parse_iso(value)
        except ValueError:
            return MISSING
    if _kind(value) == "number":
        return datetime.fromtimestamp(value, tz=UTC)
    return MISSING


ORDERED = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def compile_clause(clause: dict[str, Any]) -> Predicate:
    """A clause as a function of the event, with everything that does not depend on the event done once."""
    get = property_getter(clause["property"])
    expected = _expected(clause["property"], clause["value"])
    kind = _kind(expected)
    operator = clause["operator"]
    if expected is MISSING or kind is None:
        return lambda event: False

    def same_kind(actual: Any) -> bool:
        return KINDS.get(type(actual)) == kind

    if operator == "eq":
        if kind == "string":  # of an event's values (JSON's types), only a string equals one: no kind to check
            if clause["property"] == "name":
                return lambda event: event["name"] == expected
            return lambda event: get(event) == expected
        return lambda event: same_kind(actual := get(event)) and actual == expected
    if operator == "ne":
        return lambda event: same_kind(actual := get(event)) and actual != expected
    if operator in ("like", "not_like"):
        if kind != "string":
            return lambda event: False
        needle, wanted = expected.lower(), operator == "like"
        return lambda event: same_kind(actual := get(event)) and (needle in actual.lower()) == wanted
    if operator in ORDERED and kind != "bool":  # booleans have no order
        compare = ORDERED[operator]
        return lambda event: same_kind(actual := get(event)) and compare(actual, expected)
    return lambda event: False


def reads_timestamp(filter_: dict[str, Any]) -> bool:
    """Whether a clause of the filter, at any depth, is on the event's timestamp."""
    return any(reads_timestamp(c) if "clauses" in c else c.get("property") == "timestamp"
               for c in filter_.get("clauses") or [])


def compile_filter(filter_: dict[str, Any]) -> Predicate:
    """An empty clause list matches every event."""
    parts = [compile_filter(c) if "clauses" in c else compile_clause(c) for c in filter_.get("clauses") or []]
    if not parts:
        return lambda event: True
    if len(parts) == 1:
        return parts[0]
    if filter_.get("conjunction", "and") == "or":
        return lambda event: any(p(event) for p in parts)
    return lambda event: all(p(event) for p in parts)


def matches(filter_: dict[str, Any], event: dict[str, Any]) -> bool:
    return compile_filter(filter_)(event)
