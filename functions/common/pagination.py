"""Polar's page-based list shape: {"items": [...], "pagination": {"total_count", "max_page"}}."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from functions.common.errors import ValidationFailed, field_error


def page_of(items: list[Any], page: int, limit: int) -> dict[str, Any]:
    start = (page - 1) * limit
    return {
        "items": items[start : start + limit],
        "pagination": {"total_count": len(items), "max_page": max(1, math.ceil(len(items) / limit))},
    }


def keyed_page(items: list[Any], page: int, skipped: int, more: bool, next_cursor: str | None) -> dict[str, Any]:
    """A page of a listing read by key, which knows whether another page follows but not how many: counting
    would read every item. `total_count` counts the items before this page (`skipped`), this page's and one
    more if another follows; `max_page` is the next page while there is one, so a client that pages until
    `max_page` (polar-sdk does) reads them all."""
    return {
        "items": items,
        "pagination": {"total_count": skipped + len(items) + (1 if more else 0),
                       "max_page": page + 1 if more else page,
                       "next_cursor": next_cursor if more else None},
    }


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("\n".join(parts).encode()).decode().rstrip("=")


def decode_cursor(text: str, count: int) -> tuple[str, ...]:
    """The parts a cursor of encode_cursor holds; a cursor that is not one is a 422 naming `cursor`."""
    try:
        parts = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split("\n")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        parts = []
    if len(parts) != count:
        raise ValidationFailed([field_error(["query", "cursor"], "not a cursor this listing returned")])
    return tuple(parts)
