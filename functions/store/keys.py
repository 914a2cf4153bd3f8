"""Every key the table uses, in one place (docs/data-model.md lists the access pattern each one serves)."""

from __future__ import annotations

import zlib

from functions.common.errors import NotFound

# An organization's events spread over this many partitions by event id: 32 x 500 transactional 1 KB writes
# per second (DynamoDB's 1,000 write units per partition) = 16,000 events/s per organization before DynamoDB
# splits a hot partition further. docs/data-model.md explains the choice.
EVENT_SHARDS = 32


AggregateKey = tuple[str, str, str]  # customer id, meter id, period key


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


CUSTOMER_PREFIX = "CUSTOMER#"
CUSTOMER_EXTERNAL_PREFIX = "CUSTEXT#"


def customer_sk(customer_id: str) -> str:
    return f"{CUSTOMER_PREFIX}{customer_id}"


BILLING_PREFIX = "billing#"  # a customer item's attribute per active subscription: its BillingState


def billing_attribute(subscription_id: str) -> str:
    return f"{BILLING_PREFIX}{subscription_id}"


def customer_external_sk(external_id: str) -> str:
    return f"{CUSTOMER_EXTERNAL_PREFIX}{external_id}"


def external_id_of(sk: str) -> str:
    """The external id an external-id pointer's sort key names."""
    return sk[len(CUSTOMER_EXTERNAL_PREFIX):]


def customer_email_sk(email: str) -> str:
    return f"CUSTEMAIL#{email.lower()}"


def meter_sk(meter_id: str) -> str:
    return f"METER#{meter_id}"


def event_shard(event_id: str) -> int:
    return zlib.crc32(event_id.encode()) % EVENT_SHARDS


# A customer's events spread over this many partitions of the listing index (GSI2), so that one customer's
# ingest is not capped by one index partition's 1,000 write units per second: 8 x 1,000 events/s. A listing
# page reads each shard's newest events and merges them (docs/data-model.md).
LISTING_SHARDS = 8


def listing_partition(customer_id: str, shard: int) -> str:
    """GSI2's partition key of a customer's events in one listing shard. Customer ids are UUIDs the store
    generates, unique across organizations, so the organization is not repeated in every event item."""
    return f"{customer_id}#{shard}"


def event_pk(org_id: str, shard: int) -> str:
    """An event's key is its organization and its id (the shard comes from the id), never its customer: the
    id is derived from `external_id`, so the same external id names the same item whatever customer it is
    sent for, and the put's `attribute_not_exists` deduplicates per organization with no second item."""
    return f"EVENT#{org_id}#{shard:02d}"


def aggregate_pk(org_id: str, customer_id: str) -> str:
    """All of a customer's aggregates share one partition: the customer-meter read is one query."""
    return f"AGG#{org_id}#{customer_id}"


AGGREGATE_SK_PREFIX = "PERIOD#"
AGGREGATE_SK_LAST = "PERIOD$"  # sorts after every "PERIOD#..." key ("$" follows "#")


# One (customer, meter, period) aggregate may be spread over this many items, so that concurrent writers for one
# hot customer do not all update (and conflict on) one item: a writer starts on shard 0 and moves to another when
# its transaction finds an item held by another (functions/events/service.py). Reads sum the shards (they sort
# together); the cycle close closes all of them, one update each per priced meter in its transaction: a product's
# 20 prices x 4 leave room for the close's other actions within DynamoDB's 100 (docs/capacity.md).
AGGREGATE_SHARDS = 4


def aggregate_sk(meter_id: str, period_key: str, shard: int = 0) -> str:
    """Period first: a customer's aggregates sort by period, so a read of the open periods is a key range (every
    period from the oldest open one on), whatever the number of closed periods before it. Shard 0 has no suffix
    (the key of aggregates written before shards)."""
    sk = f"{AGGREGATE_SK_PREFIX}{period_key}#{meter_id}"
    return f"{sk}#{shard}" if shard else sk


def aggregate_period_sk(period_key: str) -> str:
    """The sort-key prefix of a customer's aggregates of one period."""
    return f"{AGGREGATE_SK_PREFIX}{period_key}#"


def customer_of_aggregate_pk(pk: str) -> str:
    return pk.split("#", 2)[2]


def split_aggregate_sk(sk: str) -> tuple[str, str, int]:
    """(meter id, period key, shard) of an aggregate's sort key."""
    _, period_key, rest = sk.split("#", 2)
    meter_id, _, shard = rest.partition("#")
    return meter_id, period_key, int(shard or 0)


# A quantity bucket: what one customer's meter counted in one hour ("H", start "2026-12-04T20") or one day ("D",
# start "2026-12-04"), in the customer's aggregate partition. Its sort key starts with "QTY#", outside the
# "PERIOD#" range the customer-meter read reads.
# Sharded as the aggregates are (the same writer writes the same shard of both); the backfill's has its own suffix.
BucketKey = tuple[str, str, str, str, int]  # customer id, meter id, grain ("H" or "D"), start (a prefix of iso), shard
BUCKET_BACKFILL_SUFFIX = "#B"  # the bucket a new meter's backfill wrote, whole, beside ingest's


def bucket_sk(meter_id: str, grain: str, start: str, shard: int = 0) -> str:
    sk = f"QTY#{meter_id}#{grain}#{start}"
    return f"{sk}#{shard}" if shard else sk


def bucket_key(org_id: str, bucket: BucketKey) -> dict:
    customer_id, meter_id, grain, start, shard = bucket
    return key(aggregate_pk(org_id, customer_id), bucket_sk(meter_id, grain, start, shard))


def split_bucket_sk(sk: str) -> tuple[str, str, str]:
    """(meter id, grain, start) of a bucket's sort key, whichever shard or the backfill's."""
    _, meter_id, grain, rest = sk.split("#", 3)
    return meter_id, grain, rest.partition("#")[0]


def unique_pk(org_id: str, customer_id: str, meter_id: str, period_key: str) -> str:
    return f"UNQ#{org_id}#{customer_id}#{meter_id}#{period_key}"


MAX_PARTITION_KEY_BYTES = 2048  # DynamoDB's limits
MAX_SORT_KEY_BYTES = 1024


def key(pk: str, sk: str) -> dict:
    """A table key. An id too long to be a key cannot name an item: it is a 404, not a DynamoDB error."""
    if len(pk.encode()) > MAX_PARTITION_KEY_BYTES or len(sk.encode()) > MAX_SORT_KEY_BYTES:
        raise NotFound("no such item")
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def event_key(org_id: str, event_id: str) -> dict:
    return key(event_pk(org_id, event_shard(event_id)), event_id)


def aggregate_key(org_id: str, aggregate: AggregateKey, shard: int = 0) -> dict:
    customer_id, meter_id, period_key = aggregate
    return key(aggregate_pk(org_id, customer_id), aggregate_sk(meter_id, period_key, shard))


# Sort-key prefixes of the documents in an organization's partition (a listing is begins_with on one).
PRODUCT_PREFIX = "PRODUCT#"
SUBSCRIPTION_PREFIX = "SUB#"
DISCOUNT_PREFIX = "DISCOUNT#"
TAX_RATE_PREFIX = "TAXRATE#"
INVOICE_PREFIX = "INVOICE#"


def product_sk(product_id: str) -> str:
    return f"{PRODUCT_PREFIX}{product_id}"


def subscription_sk(subscription_id: str) -> str:
    return f"{SUBSCRIPTION_PREFIX}{subscription_id}"


def discount_sk(discount_id: str) -> str:
    return f"{DISCOUNT_PREFIX}{discount_id}"


def discount_code_sk(code: str) -> str:
    return f"DISCODE#{code.upper()}"


def tax_rate_sk(tax_rate_id: str) -> str:
    return f"{TAX_RATE_PREFIX}{tax_rate_id}"


def invoice_sk(invoice_id: str) -> str:
    return f"{INVOICE_PREFIX}{invoice_id}"


WEBHOOK_ENDPOINT_PREFIX = "WHEP#"
WEBHOOK_EVENT_PREFIX = "WHEV#"
WEBHOOK_DELIVERY_PREFIX = "WHDL#"


def webhook_endpoint_sk(endpoint_id: str) -> str:
    return f"{WEBHOOK_ENDPOINT_PREFIX}{endpoint_id}"


def webhook_event_sk(event_id: str) -> str:
    return f"{WEBHOOK_EVENT_PREFIX}{event_id}"


def webhook_delivery_sk(created_at: str, delivery_id: str) -> str:
    """Deliveries sort by time within the organization: the delivery log reads newest first."""
    return f"{WEBHOOK_DELIVERY_PREFIX}{created_at}#{delivery_id}"


ACTIVITY_PREFIX = "ACTIVITY#"


def activity_sk(created_at: str, entry_id: str) -> str:
    """Audit entries sort by time in the organization's partition."""
    return f"{ACTIVITY_PREFIX}{created_at}#{entry_id}"


INVOICE_COUNTER_SK = "COUNTER#invoice"
# GSI1 partitions: active subscriptions by period end (the cycle close's work list), and invoices whose PDF and
# JSON are not yet in S3 (a crash between the close and the rendering is repaired by the next run).
DUE_SUBSCRIPTIONS = "SUBDUE"
UNRENDERED_INVOICES = "UNRENDERED"
METER_PREFIX = "METER#"
METER_COUNTER_SK = "COUNTER#meter"
BACKFILL_PENDING = "BACKFILL"  # GSI1 partition of meters whose catch-up backfill has not run yet
THRESHOLDS_PENDING = "THRESHPENDING"  # GSI1 partition of threshold crossings not yet published
ANNOUNCEMENTS_PENDING = "OUTBOX"  # GSI1 partition of announcements (store/outbox.py) not yet published
OUTBOX_PREFIX = "OUTBOX#"


def outbox_sk(announcement_key: str) -> str:
    return f"{OUTBOX_PREFIX}{announcement_key}"


def backfill_position(created_at: str, org_id: str, meter_id: str) -> str:
    return f"{created_at}#{org_id}#{meter_id}"


def due_position(period_end: str, subscription_id: str) -> str:
    """A subscription's place in the due index (GSI1 `SUBDUE`): ordered by the end of its period."""
    return f"{period_end}#{subscription_id}"


def threshold_pk(org_id: str, customer_id: str) -> str:
    return f"THRESH#{org_id}#{customer_id}"


def threshold_key(org_id: str, customer_id: str, meter_id: str, period_key: str, threshold_id: str) -> dict:
    return key(threshold_pk(org_id, customer_id), f"{meter_id}#{period_key}#{threshold_id}")


def bulk_file_key(bucket: str, object_key: str, version: str) -> dict:
    return key(f"BULK#{bucket}#{object_key}", version)


def session_key(token_hash: str) -> dict:
    return key(f"SESSION#{token_hash}", "SESSION")


def organization_key(org_id: str) -> dict:
    return key(f"ORG#{org_id}", "ORG")


def token_key(token_hash: str) -> dict:
    return key(f"TOKEN#{token_hash}", "TOKEN")


EVENT_TYPE_PREFIX = "EVENTTYPE#"


def event_type_key(org_id: str, name: str) -> dict[str, dict[str, str]]:
    """An event name's label (Polar's event type), beside the organization's other items."""
    return {"PK": {"S": org_pk(org_id)}, "SK": {"S": f"{EVENT_TYPE_PREFIX}{name}"}}
