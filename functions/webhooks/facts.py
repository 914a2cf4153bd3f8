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
TYPE_OF_DETAIL = {
    "invoice.created": "order.created",
    "customer_meter.threshold_crossed": "customer.state_changed",
}
SENT_TYPES = tuple(TYPE_OF_DETAIL.values())
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


def fact_of(detail_type: str, detail: dict[str, Any]) -> Fact | None:
    """The fact a bus event reports, or None for an event no webhook type carries."""
    webhook_type = TYPE_OF_DETAIL.get(detail_type)
    if webhook_type == "order.created":
        return Fact(webhook_type, detail["organization_id"], f"invoice:{detail['invoice_id']}",
                    detail["customer_id"], detail["invoice_id"])
    if webhook_type == "customer.state_changed":
        return Fact(webhook_type, detail["organization_id"], f"crossing:{detail['id']}", detail["customer_id"])
    return None


def webhook_event_id(endpoint_id: str, fact_key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{endpoint_id}\n{fact_key}"))


def envelope(webhook_type: str, timestamp: str, data: dict[str, Any]) -> str:
    """The body Polar sends: the type, when, the API version and the resource (compact JSON, signed as is)."""
    return json.dumps({"type": webhook_type, "timestamp": timestamp, "api_version": API_VERSION, "data": data},
                      separators=(",", ":"), default=str)
