"""Meters. Each meter gets a sequence number per organization: events remember the highest one they were
matched against, so a new meter's backfill knows which stored events it has not counted yet."""

from __future__ import annotations

from functions.store import dynamo
from functions.store.codec import entity_from_item, entity_item
from functions.store.entities import Meter
from functions.store.keys import (
    BACKFILL_PENDING,
    METER_COUNTER_SK,
    METER_PREFIX,
    backfill_position,
    key,
    meter_sk,
    org_pk,
)


def next_sequence(org_id: str) -> int:
    response = dynamo.call(
        "update_item",
        TableName=dynamo.table_name(),
        Key=key(org_pk(org_id), METER_COUNTER_SK),
        UpdateExpression="ADD #n :one",
        ExpressionAttributeNames={"#n": "value"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["value"]["N"])


def put(org_id: str, meter: Meter) -> None:
    item = {**key(org_pk(org_id), meter_sk(meter.id)), **entity_item(meter)}
    if meter.backfill_pending:
        item["GSI1PK"] = {"S": BACKFILL_PENDING}
        item["GSI1SK"] = {"S": backfill_position(meter.created_at, org_id, meter.id)}
    dynamo.call("put_item", TableName=dynamo.table_name(), Item=item)


def pending_backfills(created_before: str) -> list[tuple[str, str]]:
    """(organization, meter) of meters created before the time whose catch-up backfill has not run."""
    items = dynamo.query_all(
        TableName=dynamo.table_name(), IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK < :before",
        ExpressionAttributeValues={":p": {"S": BACKFILL_PENDING}, ":before": {"S": created_before}},
    )
    return [(item["organization_id"]["S"], item["id"]["S"]) for item in items]


def get(org_id: str, meter_id: str) -> Meter | None:
    item = dynamo.call(
        "get_item", TableName=dynamo.table_name(), Key=key(org_pk(org_id), meter_sk(meter_id)), ConsistentRead=True
    ).get("Item")
    return entity_from_item(Meter, item) if item else None


def list_all(org_id: str) -> list[Meter]:
    """Every meter of the organization, archived ones included, in one query (strongly consistent, so a meter
    is matched by the first ingest after it was created)."""
    items = dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": org_pk(org_id)}, ":prefix": {"S": METER_PREFIX}},
        ConsistentRead=True,
    )
    return [entity_from_item(Meter, item) for item in items]
