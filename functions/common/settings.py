"""Each handler's environment, read once (the first use) and checked: logic never reads os.environ.

A dataclass, not a pydantic model: six variables need no schema, and the cycle-close Lambda imports pydantic
for nothing else (importing it is about 80 ms of that Lambda's cold start)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    batch_bucket: str = ""
    invoice_bucket: str = ""
    event_bus_name: str = ""
    # Public base URL of the API (the portal links customers to it).
    public_url: str = ""
    grace_period_seconds: int = 3600

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        if "TABLE_NAME" not in environ:
            raise ValueError("TABLE_NAME is not set: the function's environment names its table")
        grace = environ.get("GRACE_PERIOD_SECONDS", "3600")
        try:
            grace_period_seconds = int(grace)
        except ValueError:
            raise ValueError(f"GRACE_PERIOD_SECONDS is not a whole number of seconds: {grace!r}") from None
        return cls(
            table_name=environ["TABLE_NAME"],
            batch_bucket=environ.get("BATCH_BUCKET", ""),
            invoice_bucket=environ.get("INVOICE_BUCKET", ""),
            event_bus_name=environ.get("EVENT_BUS_NAME", ""),
            public_url=environ.get("PUBLIC_URL", ""),
            grace_period_seconds=grace_period_seconds,
        )


@cache
def settings() -> Settings:
    return Settings.from_environment(os.environ)
