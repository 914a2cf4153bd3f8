"""Which webhook a bus event becomes (pure).

Each bus event Meterbill publishes maps to one Polar webhook type and a key that names the fact it reports
(the invoice, the threshold crossing): the webhook event's id is derived from that key and the endpoint, so
the same fact published twice (a sweep republishing what a crashed run left) is one webhook event, delivered
once per endpoint.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

API_VERSION: Final = "2026-10"
# Polar's webhook types Meterbill sends, by the bus event's detail-type.
SUBSCRIPTION_TYPES = ("subscription.created", "subscription.active", "subscription.updated",
                      "subscription.canceled", "subscription.uncanceled", "subscription.revoked")
TYPE_OF_DETAIL = {
    "invoice.created": "order.created",
    "invoice.paid": "order.paid",
    "invoice.updated": "order.updated",
    "customer_meter.threshold_crossed": "customer.state_changed",
    "customer.balance_changed": "customer.state_changed",
    **{t: t for t in SUBSCRIPTION_TYPES},
}
SENT_TYPES = tuple(dict.fromkeys(TYPE_OF_DETAIL.values()))
_NAMESPACE = uuid.UUID("1b0f6f5e-7a52-4c55-9a43-3b1d2b8e9c10")


@dataclass(frozen=True, slots=True)
class Fact:
    """What a bus event reports, for webhooks: its type, the organization, and the ids its payload is built
    from."""
    type: str
    organization_id: str
    key: str  # names the fact: the same fact published twice has the same key
    customer_id: str
    invoice_id: str | None = None
    subscription: dict[str, Any] | None = None  # a subscription webhook's: the subscription the change wrote


def fact_of(detail_type: str, detail: dict[str, Any]) -> Fact | None:
    """The fact a bus event reports, or None for an event no webhook type carries. Announcements from the outbox
    (billing/announcements.py) carry their key; the two older events are keyed by what they name."""
    webhook_type = TYPE_OF_DETAIL.get(detail_type)
    if webhook_type is None:
        return None
    if detail_type == "invoice.created":
        fact_key = f"invoice:{detail['invoice_id']}"
    elif detail_type == "customer_meter.threshold_crossed":
        fact_key = f"crossing:{detail['id']}"
    else:
        fact_key = detail["key"]
    return Fact(webhook_type, detail["organization_id"], fact_key, detail["customer_id"], detail.get("invoice_id"),
                detail.get("subscription"))


def webhook_event_id(endpoint_id: str, fact_key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{endpoint_id}\n{fact_key}"))


def envelope(webhook_type: str, timestamp: str, data: dict[str, Any]) -> str:
    """The body Polar sends: the type, when, the API version and the resource (compact JSON, signed as is)."""
    return json.dumps({"type": webhook_type, "timestamp": timestamp, "api_version": API_VERSION, "data": data},
                      separators=(",", ":"), default=str)
