"""Each handler's environment as a model, checked at cold start. Logic never reads os.environ."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME")
    batch_bucket: str = Field(default="", alias="BATCH_BUCKET")
    invoice_bucket: str = Field(default="", alias="INVOICE_BUCKET")
    event_bus_name: str = Field(default="", alias="EVENT_BUS_NAME")
    # Public base URL of the API (the portal links customers to it).
    public_url: str = Field(default="", alias="PUBLIC_URL")
    grace_period_seconds: int = Field(default=3600, alias="GRACE_PERIOD_SECONDS")


@cache
def settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
