"""Webhook delivery: a message of the delivery queue (a bus event, or a redelivery the API queued) becomes one
webhook event per endpoint that wants it, POSTed signed the Standard Webhooks way, each attempt logged; what
failed is retried by the queue (functions/webhooks/retries.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from functions.adapters import webhook_http
from functions.billing.polar import organization_order_out
from functions.billing.schemas import subscription_out
from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound
from functions.common.ids import new_id
from functions.customers import service as customers
from functions.customers.schemas import customer_state_out
from functions.store import billing as billing_store
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store import organizations as organization_store
from functions.store import webhooks as store
from functions.store.billing_entities import Subscription
from functions.store.codec import entity_from_values
from functions.store.customers import CustomerRef
from functions.store.webhook_entities import WebhookDelivery, WebhookEndpoint, WebhookEvent
from functions.webhooks import facts
from functions.webhooks.facts import Fact
from functions.webhooks.signing import signed_headers

Post = Callable[[str, str, dict[str, str]], tuple[int | None, str]]
logger = Logger()


def handle_message(message: dict[str, Any], post: Post = webhook_http.post) -> bool:
    """One message of the delivery queue: a bus event (EventBridge's envelope) or a redelivery. True when
    every endpoint it is for has it (delivered now or before); False leaves it for a later retry."""
    if "redeliver" in message:
        wanted = message["redeliver"]
        event = store.get_event(wanted["organization_id"], wanted["webhook_event_id"])
        try:
            endpoint = store.get_endpoint(event.organization_id, event.endpoint_id)
        except NotFound:
            return True  # the endpoint was deleted since: nothing to send to
        return attempt(event, endpoint, post)  # this attempt's outcome: a failed redelivery is retried
    fact = facts.fact_of(message.get("detail-type", ""), message.get("detail") or {})
    if fact is None:
        return True
    endpoints = [e for e in store.list_endpoints(fact.organization_id) if e.enabled and fact.type in e.events]
    body: str | None = None
    delivered = True
    for endpoint in endpoints:
        event_id = facts.webhook_event_id(endpoint.id, fact.key)
        try:
            event = store.get_event(fact.organization_id, event_id)
        except NotFound:
            if body is None:
                try:
                    body = facts.envelope(fact.type, iso(utcnow()), _data(fact))
                except NotFound:
                    # Deleted since it was published (the customer, the invoice's organization): nothing left to
                    # describe, and retrying would not bring it back.
                    logger.warning("webhook not sent: its subject is gone", extra={"fact": fact.key})
                    return True
            event = store.create_event(WebhookEvent(id=event_id, organization_id=fact.organization_id,
                                                    endpoint_id=endpoint.id, type=fact.type, payload=body,
                                                    created_at=iso(utcnow())))
        if event.succeeded:
            continue  # an earlier delivery of this message reached this endpoint
        delivered = attempt(event, endpoint, post) and delivered
    return delivered


def attempt(event: WebhookEvent, endpoint: WebhookEndpoint, post: Post) -> bool:
    """One signed POST of the event, logged; True when the endpoint answered 2xx. The webhook-id is the event's:
    a receiver that saw it already can tell a retry from a new event."""
    sent_at = utcnow()
    headers = signed_headers(endpoint.secret, event.id, int(sent_at.timestamp()), event.payload)
    code, response = post(endpoint.url, event.payload, headers)
    delivery = WebhookDelivery(id=new_id(), organization_id=event.organization_id, endpoint_id=endpoint.id,
                               webhook_event_id=event.id, event_type=event.type,
                               succeeded=code is not None and 200 <= code < 300, http_code=code,
                               response=response, created_at=iso(sent_at))
    store.record_delivery(event, delivery)
    return delivery.succeeded


def _data(fact: Fact) -> dict[str, Any]:
    """The resource the webhook carries, as it is now (Polar sends the state at the time of sending)."""
    org_id = fact.organization_id
    if fact.type == "customer.state_changed":
        return customer_state_out(*customers.state(org_id, CustomerRef(customer_id=fact.customer_id)))
    if fact.subscription is not None:
        return _subscription_data(org_id, entity_from_values(Subscription, fact.subscription))
    invoice = billing_store.get_invoice(org_id, fact.invoice_id or "")
    customer = customer_store.get(org_id, fact.customer_id)
    org = organization_store.get(org_id)
    if invoice is None or customer is None or org is None:
        raise NotFound("the invoice, its customer or its organization is gone")
    meters = {m.id: m for m in meter_store.list_all(org_id)}
    return organization_order_out(invoice, billing_store.get_product(org_id, invoice.product_id),
                                  billing_store.get_subscription(org_id, invoice.subscription_id), org, meters,
                                  customer)


def _subscription_data(org_id: str, sub: Subscription) -> dict[str, Any]:
    """Polar's Subscription as the change left it, with its product, discount and customer as they are now (a
    customer deleted since is sent as deleted: deleting a customer revokes its subscriptions first)."""
    from functions.billing.subscriptions import named_by  # only subscription webhooks need it

    named = named_by(org_id, [sub], include_deleted=True)
    if sub.customer_id not in named.customers:
        raise NotFound("the subscription's customer is gone")
    return subscription_out(sub, named)
