"""Quantity buckets: what a customer's meter counted per hour and per day, written in the ingest transaction
beside the aggregates, so that a quantities read costs O(buckets), not O(events).

Bucket (ingest's)     PK AGG#{org}#{customer}   SK QTY#{meter}#H#{2026-12-04T20}   (or D#{2026-12-04}; shard k > 0:
                                                 a suffix #{k}, as the aggregates)
Bucket (backfill's)   PK AGG#{org}#{customer}   SK QTY#{meter}#H#{2026-12-04T20}#B
The state attributes are the aggregate's (functions/store/stored_state.py). Buckets are by event timestamp
and never closed: an event counted late in a following period is in the bucket of its own hour. A new meter's
backfill writes its own bucket items, whole (recomputed from the same events, a rerun writes the same), which
the read adds to ingest's: ingest never counts an event for a meter it did not know.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from functions.store import dynamo
from functions.store.attributes import (
    AGGREGATE_COUNT,
    AGGREGATE_LAST_AT,
    AGGREGATE_LAST_VALUE,
    AGGREGATE_MAX,
    AGGREGATE_MIN,
    AGGREGATE_SUM,
)
from functions.store.codec import to_item
from functions.store.keys import (
    BUCKET_BACKFILL_SUFFIX,
    BucketKey,
    aggregate_pk,
    bucket_key,
    bucket_sk,
    key,
    split_bucket_sk,
)
from functions.store.partial import Partial
from functions.store.stored_state import state_update, stored_partial

__all__ = ["BucketDelta", "BucketKey"]

HOUR, DAY = "H", "D"


def bucket_starts(timestamp_iso: str) -> tuple[str, str]:
    """The hour and day buckets of an event, from its ISO timestamp (functions/common/clock.py `iso`)."""
    return timestamp_iso[:13], timestamp_iso[:10]


@dataclass(slots=True)
class BucketDelta:
    key: BucketKey
    partial: Partial
    prior: Partial | None = None


def bucket_update(org_id: str, delta: BucketDelta) -> dict[str, Any]:
    update = state_update(delta.partial, delta.prior)
    action: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": bucket_key(org_id, delta.key),
        "UpdateExpression": update.expression(),
        "ExpressionAttributeValues": update.values,
    }
    if update.conditions:
        action["ConditionExpression"] = " AND ".join(update.conditions)
    return {"Update": action}


def read_buckets(org_id: str, keys: list[BucketKey]) -> dict[BucketKey, Partial]:
    """The state of ingest's bucket items (what a chunk's min/max/last updates are conditioned against)."""
    found: dict[BucketKey, Partial] = {}
    by_pk_sk = {(aggregate_pk(org_id, k[0]), bucket_sk(*k[1:])): k for k in keys}
    for start in range(0, len(keys), 100):
        for item in dynamo.batch_get([bucket_key(org_id, k) for k in keys[start : start + 100]]):
            found[by_pk_sk[(item["PK"]["S"], item["SK"]["S"])]] = stored_partial(item)
    return found


def customer_buckets(org_id: str, customer_id: str, meter_id: str, grain: str, first: str, last: str
                     ) -> Iterator[tuple[str, Partial]]:
    """(bucket start, state) of one customer's meter from bucket `first` to `last` (both included, both
    ingest's and the backfill's items, in start order): one query, paged by DynamoDB past 1 MB."""
    items = dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk AND SK BETWEEN :from AND :to",
        ExpressionAttributeValues={":pk": {"S": aggregate_pk(org_id, customer_id)},
                                   ":from": {"S": bucket_sk(meter_id, grain, first)},
                                   ":to": {"S": bucket_sk(meter_id, grain, last) + "#~"}},
        ConsistentRead=True,  # read after write, as the customer-meter read
    )
    for item in items:
        _, _, start = split_bucket_sk(item["SK"]["S"])
        yield start, stored_partial(item)


def put_backfill_buckets(org_id: str, customer_id: str, meter_id: str, buckets: dict[tuple[str, str], Partial]
                         ) -> None:
    """The backfill's bucket items of one customer's meter ((grain, start) -> state), written whole."""
    items = []
    for (grain, start), state in buckets.items():
        sk = bucket_sk(meter_id, grain, start) + BUCKET_BACKFILL_SUFFIX
        values = {AGGREGATE_COUNT: state.count, AGGREGATE_SUM: state.total or None, AGGREGATE_MIN: state.minimum,
                  AGGREGATE_MAX: state.maximum, AGGREGATE_LAST_VALUE: state.last_value,
                  AGGREGATE_LAST_AT: state.last_at}
        items.append({**key(aggregate_pk(org_id, customer_id), sk), **to_item(values)})
    dynamo.batch_put(items)
