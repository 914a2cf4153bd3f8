"""Polar's list query parameters: `sorting` (keys, `-` for descending, several applied in order) and the
`metadata[key]=value` filter (deepObject style). Pure: the routes pass the raw values, the services apply them.

API Gateway joins a repeated query parameter with commas (`sorting=name&sorting=-created_at` arrives as
`name,-created_at`), so sorting is split on commas; the metadata filter is read from the raw query string,
where each value keeps its own commas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from functions.common.errors import ValidationFailed, field_error

SortKeys = list[tuple[str, bool]]  # (property, descending)


def id_set(values: list[str] | None) -> set[str] | None:
    """Polar's repeated (or comma-joined) id query parameters as a set; None when not given."""
    return {v for value in values for v in value.split(",")} if values else None


def parse_sorting(raw: str | list[str] | None, allowed: Iterable[str], default: str) -> SortKeys:
    """`name,-created_at` -> [("name", False), ("created_at", True)]; a key not in `allowed` is a 422 on
    ["query", "sorting"] (never silently ignored)."""
    allowed = list(allowed)
    keys: SortKeys = []
    if isinstance(raw, list):
        raw = ",".join(raw)
    for part in (raw if raw is not None else default).split(","):
        part = part.strip()
        if not part:
            continue
        name, descending = (part[1:], True) if part.startswith("-") else (part, False)
        if name not in allowed:
            options = ", ".join(f"{a}, -{a}" for a in allowed)
            raise ValidationFailed([field_error(["query", "sorting"], f"unknown sorting {part!r}: one of {options}",
                                                "enum")])
        keys.append((name, descending))
    return keys


def sort_rows(rows: list[Any], keys: SortKeys, value: Callable[[Any, str], Any]) -> list[Any]:
    """Rows sorted by each key in order (the first key decides first); a missing (None) value sorts first
    ascending, last descending."""
    result = list(rows)
    for name, descending in reversed(keys):
        result.sort(key=lambda row: _sortable(value(row, name)), reverse=descending)
    return result


def _sortable(value: Any) -> tuple[bool, Any]:
    if isinstance(value, str):
        return (True, value.lower())
    return (value is not None, value if value is not None else 0)


def metadata_filter(raw_query: str | None) -> dict[str, list[str]]:
    """`metadata[plan]=pro&metadata[plan]=team&metadata[tier]=1` -> {"plan": ["pro", "team"], "tier": ["1"]}."""
    found: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query or "", keep_blank_values=True):
        if key.startswith("metadata[") and key.endswith("]"):
            name = key[len("metadata["):-1]
            if not name:
                raise ValidationFailed([field_error(["query", "metadata"], "use metadata[key]=value")])
            found.setdefault(name, []).append(value)
    return found


def metadata_text(value: Any) -> str:
    """A metadata value as Polar compares it with a query value: its JSON text (strings bare)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value)


def metadata_matches(metadata: dict[str, Any] | None, wanted: dict[str, list[str]]) -> bool:
    """Every key given matches one of its values (values of one key: or; keys: and)."""
    metadata = metadata or {}
    return all(key in metadata and metadata_text(metadata[key]) in values for key, values in wanted.items())
