"""The outbox: bus events a state change owes (a subscription created or cancelled, an invoice paid, a credit
balance gone to zero), written as items in the change's own transaction, so the change and its announcement
commit together or not at all.

An announcement waits on GSI1 `OUTBOX` until it is published; publishing then rewrites the item without the index
keys (then kept 30 days, the table's TTL). A crash between the
commit and the publication leaves it on the index for the next cycle-close run. The bus is at least once: an
announcement may be published twice (a sweep racing the writer's own publication), with the same key, which is
what webhook delivery deduplicates on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from functions.store import dynamo
from functions.store.keys import ANNOUNCEMENTS_PENDING, key, org_pk, outbox_sk
from functions.store.table_spec import TTL_ATTRIBUTE

KEPT_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Announcement:
    """One bus event owed: its detail-type, its detail, and a key that names the fact (the same change written
    twice, by a retried request, has the same key)."""

    organization_id: str
    key: str
    detail_type: str
    detail: dict[str, Any]
    at: str  # when the change happened (ISO 8601)


def _item(a: Announcement, waiting: bool) -> dict[str, Any]:
    item = {**key(org_pk(a.organization_id), outbox_sk(a.key)), "key": {"S": a.key},
            "organization_id": {"S": a.organization_id}, "detail_type": {"S": a.detail_type},
            "detail": {"S": json.dumps(a.detail, separators=(",", ":"), default=str)}, "at": {"S": a.at}}
    if waiting:  # no expiry while it waits: the TTL must never drop an announcement not yet made
        item.update(GSI1PK={"S": ANNOUNCEMENTS_PENDING}, GSI1SK={"S": f"{a.at}#{a.organization_id}#{a.key}"})
    else:
        item[TTL_ATTRIBUTE] = {"N": str(int(time.time()) + KEPT_SECONDS)}
    return item


def put_action(a: Announcement) -> dict[str, Any]:
    """The announcement's Put, for the transaction of the change it announces."""
    return {"Put": {"TableName": dynamo.table_name(), "Item": _item(a, waiting=True)}}


def _from_item(item: dict[str, Any]) -> Announcement:
    return Announcement(organization_id=item["organization_id"]["S"], key=item["key"]["S"],
                        detail_type=item["detail_type"]["S"], detail=json.loads(item["detail"]["S"]),
                        at=item["at"]["S"])


def pending() -> Iterator[Announcement]:
    """Every announcement not yet published, oldest first."""
    for item in dynamo.query_all(TableName=dynamo.table_name(), IndexName="GSI1",
                                 KeyConditionExpression="GSI1PK = :p",
                                 ExpressionAttributeValues={":p": {"S": ANNOUNCEMENTS_PENDING}}):
        yield _from_item(item)


def mark_published(a: Announcement) -> None:
    """One announcement off the index (the writer's own publication: one or two per API call)."""
    dynamo.call("put_item", TableName=dynamo.table_name(), Item=_item(a, waiting=False))


def mark_all_published(announcements: list[Announcement]) -> None:
    """Many off the index, 25 to a batch (the sweep, after a cycle close wrote one per renewal)."""
    for start in range(0, len(announcements), 25):
        requests: dict[str, Any] = {dynamo.table_name(): [
            {"PutRequest": {"Item": _item(a, waiting=False)}} for a in announcements[start : start + 25]]}
        while requests:
            requests = dynamo.call("batch_write_item", RequestItems=requests).get("UnprocessedItems") or {}
