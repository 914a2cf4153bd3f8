"""Entities for the pure tests: what a test does not name takes a neutral value."""

from __future__ import annotations

from typing import Any

from functions.store.entities import Meter

MATCH_ALL = {"conjunction": "and", "clauses": []}


def meter(id: str, aggregation: dict[str, Any], **fields: Any) -> Meter:
    return Meter(**{"id": id, "organization_id": "org", "seq": 1, "name": id, "filter": MATCH_ALL,
                    "aggregation": aggregation, "created_at": "2026-01-01T00:00:00Z", **fields})
