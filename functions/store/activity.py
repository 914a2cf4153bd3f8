"""The organization's audit log of what customers did in the portal (who, when, what): one item per entry in
the organization's partition, sorted by time."""

from __future__ import annotations

from typing import Any

from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import key, org_pk

PREFIX = "ACTIVITY#"


def put(org_id: str, entry: dict[str, Any]) -> None:
    dynamo.call("put_item", TableName=dynamo.table_name(),
                Item={**key(org_pk(org_id), f"{PREFIX}{entry['created_at']}#{entry['id']}"), **to_item(entry)},
                ConditionExpression="attribute_not_exists(PK)")


def list_entries(org_id: str, since: str | None = None) -> list[dict[str, Any]]:
    """Newest first."""
    items = dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk AND SK BETWEEN :from AND :to",
        ExpressionAttributeValues={":pk": {"S": org_pk(org_id)}, ":from": {"S": f"{PREFIX}{since or ''}"},
                                   ":to": {"S": f"{PREFIX}\uffff"}},
        ScanIndexForward=False,
        ConsistentRead=True,
    )
    out = []
    for item in items:
        data = from_item(item)
        data.pop("PK", None)
        data.pop("SK", None)
        out.append(data)
    return out
