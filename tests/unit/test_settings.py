"""The functions' environment, read into Settings."""

from __future__ import annotations

import pytest

from functions.common.settings import Settings


def test_every_variable_is_read() -> None:
    settings = Settings.from_environment({
        "TABLE_NAME": "table", "BATCH_BUCKET": "batch", "INVOICE_BUCKET": "invoices", "EVENT_BUS_NAME": "bus",
        "PUBLIC_URL": "https://api.example.com", "GRACE_PERIOD_SECONDS": "60", "UNRELATED": "x"})
    assert settings == Settings(table_name="table", batch_bucket="batch", invoice_bucket="invoices",
                                event_bus_name="bus", public_url="https://api.example.com", grace_period_seconds=60)


def test_only_the_table_is_required() -> None:
    assert Settings.from_environment({"TABLE_NAME": "table"}) == Settings(table_name="table")
    with pytest.raises(ValueError, match="TABLE_NAME"):
        Settings.from_environment({"EVENT_BUS_NAME": "bus"})


def test_the_grace_period_is_whole_seconds() -> None:
    with pytest.raises(ValueError, match="GRACE_PERIOD_SECONDS"):
        Settings.from_environment({"TABLE_NAME": "table", "GRACE_PERIOD_SECONDS": "an hour"})
