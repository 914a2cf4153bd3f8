"""Polar's organization shape (as much of it as Meterbill has)."""

from __future__ import annotations

from functions.common.schemas import lazy_models


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from functions.common.schemas import Schema

    class Organization(Schema):
        id: str
        name: str
        created_at: datetime
        modified_at: datetime | None = None

    return {"Organization": Organization}


__getattr__ = lazy_models(_response_models)
