"""Polar's event types: one per event name an organization's events carry, with a label the organization may set.

Meterbill keeps no event type records of its own: a type exists as soon as one event has its name, its id is
derived from the organization and the name (the same id on every read, in every Lambda), its statistics are the
event names' (functions/events/listing.py), and a label set through the API is the one item it adds
(functions/store/event_types.py). `created_at` is the first event's timestamp, `modified_at` the last label
change.
"""

from __future__ import annotations

import uuid
from typing import Any

from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound
from functions.common.ids import name_id
from functions.common.listing import SortKeys, sort_rows
from functions.events import listing
from functions.store import event_types as store
from functions.store.customers import CustomerRef
from functions.store.event_types import EventTypeLabel

_NAMESPACE = uuid.UUID("5b0c3f4e-8d4a-4c1e-9f60-7d2b3a9e1c55")  # Meterbill's, for event type ids only


def event_type_id(org_id: str, name: str) -> str:
    return name_id(_NAMESPACE, f"{org_id}\n{name}")


def _with_label(org_id: str, row: dict[str, Any], label: EventTypeLabel | None) -> dict[str, Any]:
    return {
        "id": event_type_id(org_id, row["name"]), "organization_id": org_id, "name": row["name"],
        "label": label.label if label else row["name"],
        "label_property_selector": label.label_property_selector if label else None,
        "created_at": row["first_seen"], "modified_at": label.modified_at if label else None,
        "source": row["source"], "occurrences": row["occurrences"], "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
    }


def list_event_types(org_id: str, customers: CustomerRef | None, query: str | None, source: list[str] | None,
                     sorting: SortKeys) -> list[dict[str, Any]]:
    """Polar's EventTypeWithStats, per event name of the customers' events. `query` matches the name or the
    label (case-insensitive substring), as Polar's does."""
    labels = store.labels(org_id)
    rows = [_with_label(org_id, row, labels.get(row["name"])) for row in listing.event_names(org_id, customers, source)]
    if query:
        needle = query.lower()
        rows = [r for r in rows if needle in r["name"].lower() or needle in r["label"].lower()]
    return sort_rows(rows, sorting, lambda row, key: row[key])  # after the labels: `label` is a sort key


def set_label(org_id: str, event_type_id_: str, label: str, label_property_selector: str | None
              ) -> dict[str, Any]:
    """Polar's EventType after the change; a 404 for an id no event name of the organization has."""
    for row in listing.event_names(org_id):
        if event_type_id(org_id, row["name"]) == event_type_id_:
            changed = EventTypeLabel(row["name"], label, label_property_selector, iso(utcnow()))
            store.put_label(org_id, changed)
            shown = _with_label(org_id, row, changed)
            return {k: shown[k] for k in ("id", "organization_id", "name", "label", "label_property_selector",
                                          "created_at", "modified_at")}
    raise NotFound("event type not found")
