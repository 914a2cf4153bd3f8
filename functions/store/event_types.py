"""Event type labels: the label an organization gave an event name (Polar's event types). An event name without
an item has the default label, its name; the item exists once a label is set."""

from __future__ import annotations

from dataclasses import dataclass

from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import EVENT_TYPE_PREFIX, event_type_key, org_pk


@dataclass(frozen=True, slots=True)
class EventTypeLabel:
    name: str
    label: str
    label_property_selector: str | None
    modified_at: str


def labels(org_id: str) -> dict[str, EventTypeLabel]:
    """Every label the organization set, by event name (one query)."""
    found = {}
    for item in dynamo.query_all(TableName=dynamo.table_name(),
                                 KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                                 ExpressionAttributeValues={":pk": {"S": org_pk(org_id)},
                                                            ":prefix": {"S": EVENT_TYPE_PREFIX}}):
        data = from_item(item)
        found[data["name"]] = EventTypeLabel(data["name"], data["label"], data.get("label_property_selector"),
                                             data["modified_at"])
    return found


def put_label(org_id: str, label: EventTypeLabel) -> None:
    """The last write wins, as for any rename."""
    item = {**event_type_key(org_id, label.name),
            **to_item({"name": label.name, "label": label.label, "modified_at": label.modified_at,
                       "label_property_selector": label.label_property_selector})}
    dynamo.call("put_item", TableName=dynamo.table_name(), Item=item)
