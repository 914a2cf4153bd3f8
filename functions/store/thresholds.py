"""Threshold crossings: one marker per (customer, meter, period, threshold), claimed with a conditional put.

The marker is the outbox: it is written (status pending, on GSI1 `THRESHPENDING`) before the event is
published and marked sent after; a crash in between leaves it pending for the cycle-close run to publish.
"""

from __future__ import annotations

from typing import Any

from functions.common.errors import Conflict
from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import THRESHOLDS_PENDING as PENDING
from functions.store.keys import threshold_key as marker_key
from functions.store.keys import threshold_pk


def claim(org_id: str, crossing: dict[str, Any]) -> bool:
    """True for the one writer that records this crossing first."""
    item = {**marker_key(org_id, crossing["customer_id"], crossing["meter_id"], crossing["period_start"],
                         crossing["threshold_id"]),
            **to_item({**crossing, "status": "pending"}),
            "GSI1PK": {"S": PENDING}, "GSI1SK": {"S": crossing["crossed_at"]}}
    try:
        dynamo.call("put_item", TableName=dynamo.table_name(), Item=item,
                    ConditionExpression="attribute_not_exists(PK)")
        return True
    except Conflict:
        return False


def mark_sent(org_id: str, crossing: dict[str, Any]) -> None:
    dynamo.call(
        "update_item", TableName=dynamo.table_name(),
        Key=marker_key(org_id, crossing["customer_id"], crossing["meter_id"], crossing["period_start"],
                       crossing["threshold_id"]),
        UpdateExpression="SET #s = :sent REMOVE GSI1PK, GSI1SK",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":sent": {"S": "sent"}},
    )


def pending(before: str) -> list[dict[str, Any]]:
    items = dynamo.query_all(
        TableName=dynamo.table_name(), IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK < :before",
        ExpressionAttributeValues={":p": {"S": PENDING}, ":before": {"S": before}},
    )
    return [from_item(item) for item in items]


def for_customer(org_id: str, customer_id: str) -> list[dict[str, Any]]:
    items = dynamo.query_all(
        TableName=dynamo.table_name(), KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": threshold_pk(org_id, customer_id)}}, ConsistentRead=True,
    )
    out = []
    for item in items:
        data = from_item(item)
        for name in ("PK", "SK", "GSI1PK", "GSI1SK"):
            data.pop(name, None)
        out.append(data)
    return out
