"""Webhooks, the API's side: the endpoints an organization registers, the delivery log, redelivery. The delivery
itself is functions/webhooks/delivery.py, in its own Lambda."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from functions.adapters import sqs
from functions.common.clock import as_utc, iso, parse_iso, utcnow
from functions.common.errors import ValidationFailed, field_error
from functions.common.ids import new_id
from functions.store import webhooks as store
from functions.store.webhook_entities import WebhookDelivery, WebhookEndpoint, WebhookEvent
from functions.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from functions.webhooks.signing import new_secret

# ---- endpoints ----

def create_endpoint(org_id: str, body: WebhookEndpointCreate) -> WebhookEndpoint:
    if body.organization_id not in (None, org_id):
        raise ValidationFailed([field_error(["body", "organization_id"], "not the token's organization")])
    endpoint = WebhookEndpoint(id=new_id(), organization_id=org_id, url=body.url, secret=new_secret(),
                               events=body.events, created_at=iso(utcnow()), name=body.name,
                               api_version=body.api_version, format=body.format)
    store.put_endpoint(endpoint)
    return endpoint


def update_endpoint(org_id: str, endpoint_id: str, body: WebhookEndpointUpdate) -> WebhookEndpoint:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "name" in body.model_fields_set and body.name is None:
        changes["name"] = None  # an explicit null clears the name
    endpoint = replace(store.get_endpoint(org_id, endpoint_id), **changes, modified_at=iso(utcnow()))
    store.put_endpoint(endpoint)
    return endpoint


def reset_secret(org_id: str, endpoint_id: str) -> WebhookEndpoint:
    """A new secret from now on: deliveries and retries not yet made are signed with it."""
    endpoint = replace(store.get_endpoint(org_id, endpoint_id), secret=new_secret(), modified_at=iso(utcnow()))
    store.put_endpoint(endpoint)
    return endpoint


get_endpoint = store.get_endpoint
delete_endpoint = store.delete_endpoint


def list_endpoints(org_id: str) -> list[WebhookEndpoint]:
    return sorted(store.list_endpoints(org_id), key=lambda e: e.created_at)


# ---- the delivery log ----

def list_deliveries(org_id: str, *, endpoint_ids: set[str] | None = None, start: datetime | None = None,
                    end: datetime | None = None, succeeded: bool | None = None, query: str | None = None,
                    http_code_class: str | None = None, event_types: set[str] | None = None
                    ) -> Iterator[tuple[WebhookDelivery, WebhookEvent]]:
    """The organization's deliveries, newest first, with the webhook event each one sent. `query` matches the
    event's payload (a customer's email or id, an invoice number); `http_code_class` is 2xx..5xx."""
    start, end = as_utc(start), as_utc(end)
    events: dict[str, WebhookEvent] = {}
    for delivery in store.deliveries(org_id):
        created = parse_iso(delivery.created_at)
        if (endpoint_ids is not None and delivery.endpoint_id not in endpoint_ids) or (
                start is not None and created < start) or (end is not None and created > end) or (
                succeeded is not None and delivery.succeeded != succeeded) or (
                event_types is not None and delivery.event_type not in event_types) or (
                http_code_class is not None and (delivery.http_code is None
                                                 or f"{delivery.http_code // 100}xx" != http_code_class)):
            continue
        if delivery.webhook_event_id not in events:
            events[delivery.webhook_event_id] = store.get_event(org_id, delivery.webhook_event_id)
        event = events[delivery.webhook_event_id]
        if query and query.lower() not in event.payload.lower():
            continue
        yield delivery, event


def redeliver(org_id: str, webhook_event_id: str, queue_url: str) -> None:
    """Queue one more delivery of a webhook event (Polar's redeliver: answered 202, delivered by the delivery
    Lambda like any other, and retried if it fails)."""
    store.get_event(org_id, webhook_event_id)  # 404 for an unknown event
    sqs.send(queue_url, {"redeliver": {"organization_id": org_id, "webhook_event_id": webhook_event_id}})
