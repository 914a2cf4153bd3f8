"""Threshold crossings: one marker per (customer, meter, period, threshold), claimed with a conditional put.

The marker is the outbox: it is written (status pending, on GSI1 `THRESHPENDING`) before the event is
published and marked sent after; a crash in between leaves it pending for the cycle-close run to publish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from functions.common.errors import Conflict
from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import THRESHOLDS_PENDING as PENDING
from functions.store.keys import threshold_key as marker_key
from functions.store.keys import threshold_pk


@dataclass(frozen=True, slots=True)
class Crossing:
    """One threshold reached by one customer meter in one period: the `customer_meter.threshold_crossed`
    event's detail, and the marker that makes it announced once."""

    id: str  # "{customer}:{meter}:{period start}:{threshold}"
    organization_id: str
    customer_id: str
    meter_id: str
    meter_name: str
    period_start: str
    period_end: str
    threshold_id: str
    threshold: dict[str, Any]
    consumed_units: str
    credited_units: str
    balance: str
    crossed_at: str

    def as_detail(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Crossing:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def _key(org_id: str, crossing: Crossing) -> dict:
    return marker_key(org_id, crossing.customer_id, crossing.meter_id, crossing.period_start, crossing.threshold_id)


def claim(org_id: str, crossing: Crossing) -> bool:
    """True for the one writer that records this crossing first."""
    item = {**_key(org_id, crossing), **to_item({**crossing.as_detail(), "status": "pending"}),
            "GSI1PK": {"S": PENDING}, "GSI1SK": {"S": crossing.crossed_at}}
    try:
        dynamo.call("put_item", TableName=dynamo.table_name(), Item=item,
                    ConditionExpression="attribute_not_exists(PK)")
        return True
    except Conflict:
        return False


def mark_sent(org_id: str, crossing: Crossing) -> None:
    dynamo.call(
        "update_item", TableName=dynamo.table_name(), Key=_key(org_id, crossing),
        UpdateExpression="SET #s = :sent REMOVE GSI1PK, GSI1SK",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":sent": {"S": "sent"}},
    )


def pending(before: str) -> list[Crossing]:
    items = dynamo.query_all(
        TableName=dynamo.table_name(), IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK < :before",
        ExpressionAttributeValues={":p": {"S": PENDING}, ":before": {"S": before}},
    )
    return [Crossing.from_data(from_item(item)) for item in items]


def for_customer(org_id: str, customer_id: str) -> list[Crossing]:
    items = dynamo.query_all(
        TableName=dynamo.table_name(), KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": threshold_pk(org_id, customer_id)}}, ConsistentRead=True,
    )
    return [Crossing.from_data(from_item(item)) for item in items]
