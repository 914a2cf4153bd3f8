"""Unique-value markers: one item per distinct value of a `unique` meter's property per aggregate.

Marker item  PK UNQ#{org}#{customer}#{meter}#{period}   SK {typed value} ("s:abc", "n:1", "b:true")
The put's `attribute_not_exists` is what makes a value count once, however many events carry it.
"""

from __future__ import annotations

from typing import Any

from functions.store import dynamo
from functions.store.keys import AggregateKey, key, unique_pk


def marker_put(org_id: str, aggregate_key: AggregateKey, marker: str) -> dict[str, Any]:
    """The conditional put of one marker (the ingest transaction holds it beside the aggregate's update)."""
    return {
        "Put": {
            "TableName": dynamo.table_name(),
            "Item": key(unique_pk(org_id, *aggregate_key), marker),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def present_markers(org_id: str, wanted: list[tuple[AggregateKey, str]]) -> set[tuple[AggregateKey, str]]:
    present: set[tuple[AggregateKey, str]] = set()
    by_pk = {unique_pk(org_id, *k): k for k, _ in wanted}
    for start in range(0, len(wanted), 100):
        batch = wanted[start : start + 100]
        for item in dynamo.batch_get([key(unique_pk(org_id, *k), m) for k, m in batch]):
            present.add((by_pk[item["PK"]["S"]], item["SK"]["S"]))
    return present


def put_markers(org_id: str, aggregate_key: AggregateKey, markers: list[str]) -> None:
    """Unique-value markers written outside a transaction (backfill); puts are idempotent."""
    pk = unique_pk(org_id, *aggregate_key)
    dynamo.batch_put([key(pk, m) for m in markers])


def count_markers(org_id: str, aggregate_key: AggregateKey) -> int:
    total = 0
    request: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": unique_pk(org_id, *aggregate_key)}},
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    while True:
        page = dynamo.call("query", **request)
        total += page["Count"]
        if not page.get("LastEvaluatedKey"):
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
