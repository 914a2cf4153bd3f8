"""The table's shape, in one place: the CDK storage construct and the local stack both build from it."""

from __future__ import annotations

PARTITION_KEY = "PK"
SORT_KEY = "SK"
TTL_ATTRIBUTE = "expires_at"

# GSI1: generic inverted lookups (subscriptions due for closing, sessions by customer, ...).
GSI1 = {"name": "GSI1", "partition_key": "GSI1PK", "sort_key": "GSI1SK"}
# GSI2: a customer's events by time (the event listing): `l` is "{customer id}#{shard}", `ts` the timestamp.
# Existing attributes' short names: the index costs each event item 39 bytes (docs/data-model.md).
GSI2 = {"name": "GSI2", "partition_key": "l", "sort_key": "ts"}
GLOBAL_INDEXES = (GSI1, GSI2)


def create_table_request(table_name: str) -> dict:
    """boto3 `create_table` arguments equivalent to the CDK table (on demand, same keys and indexes)."""
    attributes = {PARTITION_KEY, SORT_KEY}
    for index in GLOBAL_INDEXES:
        attributes.update((index["partition_key"], index["sort_key"]))
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index["name"],
                "KeySchema": [
                    {"AttributeName": index["partition_key"], "KeyType": "HASH"},
                    {"AttributeName": index["sort_key"], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in GLOBAL_INDEXES
        ],
    }
