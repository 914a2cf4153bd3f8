"""The functions' environment: each handler declares the variables it needs as a model (functions/handlers/
environments.py), checked in its init phase, so that a missing one fails the cold start with a message naming
it, never a request halfway through. Logic never reads os.environ: it reads `settings()`.

Dataclasses, not pydantic models: a handful of string variables need no schema, and the cycle-close Lambda
imports pydantic for nothing else (importing it is about 80 ms of that Lambda's cold start)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar, TypeVar


class MissingEnvironment(RuntimeError):
    """A function started without a variable its handler declares (infra/ sets each function's environment)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the lower layers read (the table, the buckets, the bus). A handler's model fills the variables it
    declares; the others keep their empty defaults, and nothing of that handler reads them."""

    table_name: str
    batch_bucket: str = ""
    invoice_bucket: str = ""
    event_bus_name: str = ""
    # Public base URL of the API (the portal links customers to it).
    public_url: str = ""
    grace_period_seconds: int = 3600
    webhook_queue_url: str = ""  # the queue the delivery Lambda reads (redeliveries are put on it)
    publish_queue_url: str = ""  # the queue the invoice publisher reads (the close workers put their invoices on it)
    close_queue_url: str = ""  # the queue the close workers read (the scheduled cycle close puts what is due on it)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Every variable the process has: the operator's tools and the tests, which call services in-process
        (a Lambda's handler loads its own model instead, with `configure`)."""
        if "TABLE_NAME" not in environ:
            raise MissingEnvironment("TABLE_NAME is not set: the function's environment names its table")
        return cls(
            table_name=environ["TABLE_NAME"],
            batch_bucket=environ.get("BATCH_BUCKET", ""),
            invoice_bucket=environ.get("INVOICE_BUCKET", ""),
            event_bus_name=environ.get("EVENT_BUS_NAME", ""),
            public_url=environ.get("PUBLIC_URL", ""),
            grace_period_seconds=_whole_seconds("GRACE_PERIOD_SECONDS", environ.get("GRACE_PERIOD_SECONDS", "3600")),
            webhook_queue_url=environ.get("WEBHOOK_QUEUE_URL", ""),
            publish_queue_url=environ.get("PUBLISH_QUEUE_URL", ""),
            close_queue_url=environ.get("CLOSE_QUEUE_URL", ""),
        )


def _whole_seconds(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} is not a whole number of seconds: {text!r}") from None


E = TypeVar("E", bound="HandlerEnvironment")


@dataclass(frozen=True, slots=True)
class HandlerEnvironment:
    """Base of the per-handler models: each field is the variable of its name in upper case (`table_name` is
    TABLE_NAME); a field without a default is required, and an empty value counts as missing."""

    handler: ClassVar[str] = "a handler"

    @classmethod
    def load(cls: type[E], environ: Mapping[str, str]) -> E:
        values: dict[str, Any] = {}
        missing: list[str] = []
        for f in fields(cls):  # type: ignore[arg-type]
            variable = f.name.upper()
            raw = environ.get(variable, "")
            if not raw:
                if f.default is MISSING:
                    missing.append(variable)
                continue
            values[f.name] = _whole_seconds(variable, raw) if f.type in (int, "int") else raw
        if missing:
            raise MissingEnvironment(
                f"{cls.handler} needs {', '.join(missing)} in its environment, which "
                f"{'is' if len(missing) == 1 else 'are'} not set (infra/ sets each function's environment)")
        return cls(**values)

    def settings(self) -> Settings:
        known = {f.name for f in fields(Settings)}
        return Settings(**{f.name: getattr(self, f.name) for f in fields(self) if f.name in known})  # type: ignore[arg-type]


_configured: list[Settings] = []  # the handler's settings, once its init phase has checked them


def configure(model: type[HandlerEnvironment], environ: Mapping[str, str] | None = None) -> Settings:
    """A handler's init phase: check its model (a missing variable raises, naming it), then read the settings
    that `settings()` returns from then on. They are read from the whole environment, not only the model's
    fields: in Lambda that is the same (infra/ sets what the handler needs), and a process that imports several
    handlers (the benchmarks do) keeps every variable whichever handler was imported last."""
    environ = os.environ if environ is None else environ
    model.load(environ)
    loaded = Settings.from_environment(environ)
    _configured[:] = [loaded]
    return loaded


def settings() -> Settings:
    """The handler's settings (after `configure`), else the process's environment (the operator's tools and
    the tests, which call services in-process), read once."""
    if not _configured:
        _configured.append(Settings.from_environment(os.environ))
    return _configured[0]


def reset() -> None:
    """Forget the settings read (tests)."""
    _configured.clear()
