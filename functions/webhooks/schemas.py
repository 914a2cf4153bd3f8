"""Polar's webhook shapes: WebhookEndpointCreate / WebhookEndpointUpdate in, WebhookEndpoint, WebhookDelivery
(with its WebhookEvent) out. The store's entities of the same names are reached as `entities.X`: a module-level
name would shadow the lazily built response model that the OpenAPI document looks up here."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator

from functions.common.request_types import RequestModel
from functions.common.schemas import lazy_models
from functions.store import webhook_entities
from functions.webhooks.facts import API_VERSION, SENT_TYPES

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _checked_url(url: str) -> str:
    """Polar takes HTTPS URLs only; plain HTTP is allowed to a loopback host, for a receiver on the developer's
    machine (the local stack, the tests)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError("an absolute https:// URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("the URL must be https:// (plain http only to localhost)")
    if len(url) > 2048:
        raise ValueError("at most 2048 characters")
    return url


def _checked_events(events: list[str]) -> list[str]:
    for i, name in enumerate(events):
        if name not in SENT_TYPES:
            raise ValueError(f"events[{i}]: Meterbill does not send {name!r} webhooks; it sends "
                             f"{', '.join(SENT_TYPES)}")
    return list(dict.fromkeys(events))


class WebhookEndpointCreate(RequestModel):
    # Polar's fields; `format` discord/slack and another api_version are a 422 naming them, not ignored.
    model_config = ConfigDict(extra="forbid")

    url: str
    name: str | None = Field(default=None, max_length=256)
    api_version: Literal["2026-10"] = API_VERSION
    format: Literal["raw"] = Field(description="Meterbill sends Polar's raw JSON payloads only "
                                               "(no Discord or Slack formatting)")
    events: list[str] = Field(description="the webhook types to receive: " + ", ".join(SENT_TYPES))
    organization_id: str | None = None

    @field_validator("url")
    @classmethod
    def _url_ok(cls, v: str) -> str:
        return _checked_url(v)

    @field_validator("events")
    @classmethod
    def _events_ok(cls, v: list[str]) -> list[str]:
        return _checked_events(v)


class WebhookEndpointUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    name: str | None = Field(default=None, max_length=256)
    api_version: Literal["2026-10"] | None = None
    format: Literal["raw"] | None = None
    events: list[str] | None = None
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _url_ok(cls, v: str | None) -> str | None:
        return None if v is None else _checked_url(v)

    @field_validator("events")
    @classmethod
    def _events_ok(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _checked_events(v)


def endpoint_out(endpoint: webhook_entities.WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "created_at": endpoint.created_at, "modified_at": endpoint.modified_at,
            "url": endpoint.url, "name": endpoint.name, "api_version": endpoint.api_version,
            "format": endpoint.format, "secret": endpoint.secret, "organization_id": endpoint.organization_id,
            "events": endpoint.events, "enabled": endpoint.enabled, "uses_standard_webhook_signature": True}


def event_out(event: webhook_entities.WebhookEvent) -> dict[str, Any]:
    return {"id": event.id, "created_at": event.created_at, "modified_at": event.modified_at,
            "last_http_code": event.last_http_code, "succeeded": event.succeeded, "skipped": event.skipped,
            "api_version": event.api_version, "payload": event.payload, "type": event.type, "is_archived": False}


def delivery_out(delivery: webhook_entities.WebhookDelivery, event: webhook_entities.WebhookEvent) -> dict[str, Any]:
    return {"id": delivery.id, "created_at": delivery.created_at, "modified_at": None,
            "succeeded": delivery.succeeded, "http_code": delivery.http_code, "response": delivery.response,
            "webhook_event": event_out(event)}


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from functions.common.schemas import Schema

    class WebhookEndpoint(Schema):
        id: str
        created_at: datetime
        modified_at: datetime | None
        url: str
        name: str | None
        api_version: str
        format: Literal["raw"]
        secret: str = Field(description="polar_whs_...: the HMAC key of the Standard Webhooks signature (its "
                                        "UTF-8 bytes)")
        organization_id: str
        events: list[str]
        enabled: bool
        uses_standard_webhook_signature: bool

    class WebhookEvent(Schema):
        id: str = Field(description="The webhook-id header of every delivery of this event")
        created_at: datetime
        modified_at: datetime | None
        last_http_code: int | None
        succeeded: bool | None
        skipped: bool
        api_version: str
        payload: str | None
        type: str
        is_archived: bool

    class WebhookDelivery(Schema):
        id: str
        created_at: datetime
        modified_at: datetime | None
        succeeded: bool
        http_code: int | None = Field(description="null when the endpoint could not be reached")
        response: str | None = Field(description="The first 2,048 characters of the response body, or the error")
        webhook_event: WebhookEvent

    return {"WebhookEndpoint": WebhookEndpoint, "WebhookEvent": WebhookEvent, "WebhookDelivery": WebhookDelivery}


__getattr__ = lazy_models(_response_models)
