"""Polar's customer meter shape (CustomerMeter), plus the period it reports on."""

from __future__ import annotations

from functions.common.schemas import lazy_models


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from pydantic import Field

    from functions.common.schemas import Schema
    from functions.customers.schemas import Customer
    from functions.meters.schemas import Meter

    class CustomerMeter(Schema):
        id: str = Field(description="cm_{customer_id}_{meter_id}")
        created_at: datetime
        modified_at: datetime | None
        customer_id: str
        meter_id: str
        consumed_units: float
        credited_units: int
        balance: float
        period_start: datetime
        period_end: datetime
        customer: Customer
        meter: Meter

    return {"CustomerMeter": CustomerMeter}


__getattr__ = lazy_models(_response_models)
