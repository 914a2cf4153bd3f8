"""The webhook entities: endpoints, the events each endpoint receives and their deliveries (beside
functions/store/entities.py, for the Lambdas that send webhooks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    organization_id: str
    url: str
    secret: str
    events: list[str]
    created_at: str
    modified_at: str | None = None
    name: str | None = None
    api_version: str = "2026-10"
    format: str = "raw"
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One bus event as one endpoint receives it: the payload is fixed when it is first built, so every
    delivery of it (retries, redeliveries) sends the same bytes under the same webhook-id."""
    id: str
    organization_id: str
    endpoint_id: str
    type: str
    payload: str
    created_at: str
    api_version: str = "2026-10"
    modified_at: str | None = None
    last_http_code: int | None = None
    succeeded: bool | None = None
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: str
    organization_id: str
    endpoint_id: str
    webhook_event_id: str
    event_type: str
    succeeded: bool
    http_code: int | None
    response: str | None
    created_at: str
