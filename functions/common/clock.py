"""Time in one place: every timestamp is timezone-aware UTC, rendered as Polar renders it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_UTC_OFFSET = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a 'Z' (2026-11-24T12:00:00.000000Z), so that string order is time
    order. (isoformat is a third faster than strftime, and a time already in UTC is not converted: this runs
    once per ingested event.)"""
    if dt.utcoffset() != _UTC_OFFSET:
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="microseconds")[:26] + "Z"


def parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp must carry a timezone")
    return dt.astimezone(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A timestamp a request gave without a zone is UTC, as everywhere in the API."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
