"""The functions' environment: each handler's model, checked at init; Settings for the in-process tools."""

from __future__ import annotations

import importlib
import sys
from dataclasses import MISSING, fields

import pytest

from functions.common import settings as settings_module
from functions.common.settings import MissingEnvironment, Settings, configure
from functions.handlers.environments import ENVIRONMENTS, CycleCloseEnvironment, IngestEnvironment

FULL = {"TABLE_NAME": "table", "BATCH_BUCKET": "batch", "INVOICE_BUCKET": "invoices", "EVENT_BUS_NAME": "bus",
        "PUBLIC_URL": "https://api.example.com", "GRACE_PERIOD_SECONDS": "60",
        "WEBHOOK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
        "PUBLISH_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/invoices",
        "CLOSE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/due"}


@pytest.fixture(autouse=True)
def _forget_settings():
    settings_module.reset()
    yield
    settings_module.reset()


def test_every_variable_is_read_for_the_operators_tools() -> None:
    settings = Settings.from_environment({**FULL, "UNRELATED": "x"})
    assert settings == Settings(table_name="table", batch_bucket="batch", invoice_bucket="invoices",
                                event_bus_name="bus", public_url="https://api.example.com", grace_period_seconds=60,
                                webhook_queue_url=FULL["WEBHOOK_QUEUE_URL"],
                                publish_queue_url=FULL["PUBLISH_QUEUE_URL"], close_queue_url=FULL["CLOSE_QUEUE_URL"])


def test_the_operators_tools_need_the_table() -> None:
    assert Settings.from_environment({"TABLE_NAME": "table"}) == Settings(table_name="table")
    with pytest.raises(MissingEnvironment, match="TABLE_NAME"):
        Settings.from_environment({"EVENT_BUS_NAME": "bus"})


def test_the_grace_period_is_whole_seconds() -> None:
    with pytest.raises(ValueError, match="GRACE_PERIOD_SECONDS"):
        Settings.from_environment({"TABLE_NAME": "table", "GRACE_PERIOD_SECONDS": "an hour"})
    with pytest.raises(ValueError, match="GRACE_PERIOD_SECONDS"):
        CycleCloseEnvironment.load({**FULL, "GRACE_PERIOD_SECONDS": "an hour"})


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_each_handler_model_loads_what_it_declares_and_nothing_else(name: str) -> None:
    model = ENVIRONMENTS[name]
    loaded = model.load({**FULL, "UNRELATED": "x"}).settings()
    declared = {f.name for f in fields(model)}
    assert loaded.table_name == "table"
    for f in fields(Settings):
        expected = getattr(Settings.from_environment(FULL), f.name) if f.name in declared else f.default
        assert getattr(loaded, f.name) == expected, f.name


@pytest.mark.parametrize("name, variable", [
    (name, f.name.upper()) for name, model in sorted(ENVIRONMENTS.items())
    for f in fields(model) if f.default is MISSING
])
def test_a_missing_or_empty_variable_fails_naming_it_and_the_handler(name: str, variable: str) -> None:
    model = ENVIRONMENTS[name]
    for environ in ({k: v for k, v in FULL.items() if k != variable}, {**FULL, variable: ""}):
        with pytest.raises(MissingEnvironment) as raised:
            model.load(environ)
        assert variable in str(raised.value) and model.handler in str(raised.value)


def test_configure_is_what_settings_returns_afterwards() -> None:
    configured = configure(IngestEnvironment, {"TABLE_NAME": "t1", "EVENT_BUS_NAME": "b1"})
    assert settings_module.settings() is configured
    assert configured == Settings(table_name="t1", event_bus_name="b1")


def test_a_handler_missing_a_variable_fails_its_init_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler module itself: importing it (Lambda's init phase) raises before any request."""
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    monkeypatch.setenv("TABLE_NAME", "table")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delitem(sys.modules, "functions.handlers.ingest", raising=False)
    with pytest.raises(MissingEnvironment, match="the ingest function needs EVENT_BUS_NAME"):
        importlib.import_module("functions.handlers.ingest")
    sys.modules.pop("functions.handlers.ingest", None)


def test_configure_keeps_every_variable_whichever_handler_came_last() -> None:
    """The benchmarks import several handlers in one process: the last one's check must not drop the others'."""
    configure(CycleCloseEnvironment, FULL)
    configure(IngestEnvironment, FULL)
    assert settings_module.settings() == Settings.from_environment(FULL)
