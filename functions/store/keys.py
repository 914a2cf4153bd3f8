"""Every key the table uses, in one place (docs/data-model.md lists the access pattern each one serves)."""

from __future__ import annotations

import zlib

from functions.common.errors import NotFound

# An organization's events spread over this many partitions by event id: 32 x 500 transactional 1 KB writes
# per second (DynamoDB's 1,000 write units per partition) = 16,000 events/s per organization before DynamoDB
# splits a hot partition further. docs/data-model.md explains the choice.
EVENT_SHARDS = 32


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def customer_sk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def customer_external_sk(external_id: str) -> str:
    return f"CUSTEXT#{external_id}"


def customer_email_sk(email: str) -> str:
    return f"CUSTEMAIL#{email.lower()}"


def meter_sk(meter_id: str) -> str:
    return f"METER#{meter_id}"


def event_shard(event_id: str) -> int:
    return zlib.crc32(event_id.encode()) % EVENT_SHARDS


def event_pk(org_id: str, shard: int) -> str:
    """An event's key is its organization and its id (the shard comes from the id), never its customer: the
    id is derived from `external_id`, so the same external id names the same item whatever customer it is
    sent for, and the put's `attribute_not_exists` deduplicates per organization with no second item."""
    return f"EVENT#{org_id}#{shard:02d}"


def aggregate_pk(org_id: str, customer_id: str) -> str:
    """All of a customer's aggregates share one partition: the customer-meter read is one query."""
    return f"AGG#{org_id}#{customer_id}"


def aggregate_sk(meter_id: str, period_key: str) -> str:
    return f"{meter_id}#{period_key}"


def unique_pk(org_id: str, customer_id: str, meter_id: str, period_key: str) -> str:
    return f"UNQ#{org_id}#{customer_id}#{meter_id}#{period_key}"


MAX_PARTITION_KEY_BYTES = 2048  # DynamoDB's limits
MAX_SORT_KEY_BYTES = 1024


def key(pk: str, sk: str) -> dict:
    """A table key. An id too long to be a key cannot name an item: it is a 404, not a DynamoDB error."""
    if len(pk.encode()) > MAX_PARTITION_KEY_BYTES or len(sk.encode()) > MAX_SORT_KEY_BYTES:
        raise NotFound("no such item")
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def product_sk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def subscription_sk(subscription_id: str) -> str:
    return f"SUB#{subscription_id}"


def discount_sk(discount_id: str) -> str:
    return f"DISCOUNT#{discount_id}"


def discount_code_sk(code: str) -> str:
    return f"DISCODE#{code.upper()}"


def tax_rate_sk(tax_rate_id: str) -> str:
    return f"TAXRATE#{tax_rate_id}"


def invoice_sk(invoice_id: str) -> str:
    return f"INVOICE#{invoice_id}"


INVOICE_COUNTER_SK = "COUNTER#invoice"
# GSI1 partitions: active subscriptions by period end (the cycle close's work list), and invoices whose PDF and
# JSON are not yet in S3 (a crash between the close and the rendering is repaired by the next run).
DUE_SUBSCRIPTIONS = "SUBDUE"
UNRENDERED_INVOICES = "UNRENDERED"
