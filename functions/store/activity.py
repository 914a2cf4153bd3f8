"""The organization's audit log of what customers did in the portal (who, when, what): one item per entry in
the organization's partition, sorted by time."""

from __future__ import annotations

from functions.store import dynamo
from functions.store.codec import entity_from_item, entity_item
from functions.store.entities import AuditEntry
from functions.store.keys import ACTIVITY_PREFIX, activity_sk, key, org_pk


def put(org_id: str, entry: AuditEntry) -> None:
    dynamo.call("put_item", TableName=dynamo.table_name(),
                Item={**key(org_pk(org_id), activity_sk(entry.created_at, entry.id)), **entity_item(entry)},
                ConditionExpression="attribute_not_exists(PK)")


def list_entries(org_id: str, since: str | None = None) -> list[AuditEntry]:
    """Newest first."""
    items = dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk AND SK BETWEEN :from AND :to",
        ExpressionAttributeValues={":pk": {"S": org_pk(org_id)}, ":from": {"S": f"{ACTIVITY_PREFIX}{since or ''}"},
                                   ":to": {"S": f"{ACTIVITY_PREFIX}\uffff"}},
        ScanIndexForward=False,
        ConsistentRead=True,
    )
    return [entity_from_item(AuditEntry, item) for item in items]
