"""Polar's page-based list shape: {"items": [...], "pagination": {"total_count", "max_page"}}."""

from __future__ import annotations

import math
from typing import Any


def page_of(items: list[Any], page: int, limit: int) -> dict[str, Any]:
    start = (page - 1) * limit
    return {
        "items": items[start : start + limit],
        "pagination": {"total_count": len(items), "max_page": max(1, math.ceil(len(items) / limit))},
    }
