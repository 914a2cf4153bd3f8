"""Webhook endpoints, the webhook events sent to them and each delivery attempt, under the organization's
partition (an organization has a handful of endpoints; deliveries are read newest first, a page at a time)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from functions.common.errors import Conflict, NotFound
from functions.store import dynamo
from functions.store.codec import entity_from_item, entity_item
from functions.store.keys import (
    WEBHOOK_DELIVERY_PREFIX,
    WEBHOOK_ENDPOINT_PREFIX,
    key,
    org_pk,
    webhook_delivery_sk,
    webhook_endpoint_sk,
    webhook_event_sk,
)
from functions.store.webhook_entities import WebhookDelivery, WebhookEndpoint, WebhookEvent


def put_endpoint(endpoint: WebhookEndpoint) -> None:
    dynamo.call("put_item", TableName=dynamo.table_name(),
                Item={**key(org_pk(endpoint.organization_id), webhook_endpoint_sk(endpoint.id)),
                      **entity_item(endpoint)})


def get_endpoint(org_id: str, endpoint_id: str) -> WebhookEndpoint:
    item = dynamo.call("get_item", TableName=dynamo.table_name(),
                       Key=key(org_pk(org_id), webhook_endpoint_sk(endpoint_id))).get("Item")
    if not item:
        raise NotFound("webhook endpoint not found")
    return entity_from_item(WebhookEndpoint, item)


def list_endpoints(org_id: str) -> list[WebhookEndpoint]:
    return [entity_from_item(WebhookEndpoint, item) for item in _under(org_id, WEBHOOK_ENDPOINT_PREFIX)]


def delete_endpoint(org_id: str, endpoint_id: str) -> None:
    get_endpoint(org_id, endpoint_id)
    dynamo.call("delete_item", TableName=dynamo.table_name(),
                Key=key(org_pk(org_id), webhook_endpoint_sk(endpoint_id)))


def create_event(event: WebhookEvent) -> WebhookEvent:
    """The webhook event, created once: a second delivery of the same bus event (SQS delivers at least once)
    finds the first one's, with its outcome so far."""
    try:
        dynamo.call("put_item", TableName=dynamo.table_name(),
                    Item={**key(org_pk(event.organization_id), webhook_event_sk(event.id)), **entity_item(event)},
                    ConditionExpression="attribute_not_exists(PK)")
        return event
    except Conflict:
        return get_event(event.organization_id, event.id)


def get_event(org_id: str, event_id: str) -> WebhookEvent:
    item = dynamo.call("get_item", TableName=dynamo.table_name(),
                       Key=key(org_pk(org_id), webhook_event_sk(event_id)), ConsistentRead=True).get("Item")
    if not item:
        raise NotFound("webhook event not found")
    return entity_from_item(WebhookEvent, item)


def record_delivery(event: WebhookEvent, delivery: WebhookDelivery) -> None:
    """The attempt in the log and its outcome on the event. A success is never overwritten by a later failure
    (a redelivery that fails leaves the event delivered)."""
    updated = replace(event, last_http_code=delivery.http_code, modified_at=delivery.created_at,
                      succeeded=bool(event.succeeded) or delivery.succeeded)
    # Two plain puts would do (each is idempotent), but a crash between them would leave a logged success on an
    # event still marked undelivered, which a redelivery then sends again.
    if dynamo.transact([
        {"Put": {"TableName": dynamo.table_name(),
                 "Item": {**key(org_pk(event.organization_id), webhook_delivery_sk(delivery.created_at, delivery.id)),
                          **entity_item(delivery)}}},
        {"Put": {"TableName": dynamo.table_name(),
                 "Item": {**key(org_pk(event.organization_id), webhook_event_sk(event.id)), **entity_item(updated)}}},
    ]) is not None:
        raise Conflict("the delivery could not be recorded; retry")


def deliveries(org_id: str) -> Iterator[WebhookDelivery]:
    """The organization's delivery log, newest first."""
    for item in _under(org_id, WEBHOOK_DELIVERY_PREFIX, newest_first=True):
        yield entity_from_item(WebhookDelivery, item)


def _under(org_id: str, prefix: str, newest_first: bool = False) -> Iterator[dict]:
    return dynamo.query_all(TableName=dynamo.table_name(), ScanIndexForward=not newest_first,
                            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                            ExpressionAttributeValues={":pk": {"S": org_pk(org_id)}, ":prefix": {"S": prefix}})
