"""Which webhook a bus event becomes, its id, and what an endpoint may ask for."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from functions.webhooks.facts import envelope, fact_of, webhook_event_id
from functions.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate

INVOICE = {"invoice_id": "inv1", "organization_id": "org1", "customer_id": "cus1", "number": 7}
CROSSING = {"id": "cus1:m1:2026-12-01:eighty", "organization_id": "org1", "customer_id": "cus1"}


def test_an_invoice_is_an_order_created_and_a_crossing_a_customer_state_change() -> None:
    order = fact_of("invoice.created", INVOICE)
    state = fact_of("customer_meter.threshold_crossed", CROSSING)
    assert order is not None and state is not None
    assert (order.type, order.organization_id, order.invoice_id) == ("order.created", "org1", "inv1")
    assert (state.type, state.customer_id) == ("customer.state_changed", "cus1")
    assert fact_of("Scheduled Event", {}) is None


def test_an_announcement_is_the_webhook_of_its_type_keyed_by_its_own_key() -> None:
    detail = {"organization_id": "org1", "customer_id": "cus1", "key": "subscription.canceled:s1:abc",
              "subscription": {"id": "s1"}}
    fact = fact_of("subscription.canceled", detail)
    assert fact is not None
    assert (fact.type, fact.key, fact.subscription) == ("subscription.canceled", detail["key"], {"id": "s1"})
    paid = fact_of("invoice.paid", {**INVOICE, "key": "invoice-paid:inv1"})
    balance = fact_of("customer.balance_changed", {**CROSSING, "key": "balance:cus1:usd:3"})
    assert paid is not None and balance is not None
    assert (paid.type, paid.invoice_id, balance.type) == ("order.paid", "inv1", "customer.state_changed")


def test_the_same_fact_for_the_same_endpoint_is_the_same_webhook_event() -> None:
    # A sweep republishing an invoice (a crashed run) puts a second bus event with another id on the bus.
    first, again = fact_of("invoice.created", INVOICE), fact_of("invoice.created", {**INVOICE, "number": 7})
    assert first is not None and again is not None
    assert webhook_event_id("ep1", first.key) == webhook_event_id("ep1", again.key)
    assert webhook_event_id("ep2", first.key) != webhook_event_id("ep1", first.key)
    other = fact_of("invoice.created", {**INVOICE, "invoice_id": "inv2"})
    assert other is not None and webhook_event_id("ep1", other.key) != webhook_event_id("ep1", first.key)


def test_the_envelope_is_polars() -> None:
    assert json.loads(envelope("order.created", "2026-12-03T10:00:00Z", {"id": "inv1"})) == {
        "type": "order.created", "timestamp": "2026-12-03T10:00:00Z", "api_version": "2026-10",
        "data": {"id": "inv1"}}


def endpoint(**changes) -> dict:
    return {"url": "https://hooks.example.com/meterbill", "format": "raw", "events": ["order.created"], **changes}


def test_an_endpoint_takes_what_meterbill_sends() -> None:
    created = WebhookEndpointCreate.model_validate(endpoint(events=["order.created", "customer.state_changed",
                                                                    "order.created"]))
    assert created.events == ["order.created", "customer.state_changed"]  # duplicates dropped, order kept
    assert WebhookEndpointCreate.model_validate(endpoint(url="http://localhost:8080/hook")).url.startswith("http:")


@pytest.mark.parametrize(("changes", "field"), [
    ({"events": ["subscription.past_due"]}, "events"),  # a Polar event Meterbill does not send (no payments)
    ({"events": ["nonsense"]}, "events"),
    ({"format": "discord"}, "format"),
    ({"url": "http://hooks.example.com/x"}, "url"),  # plain HTTP only to a loopback host
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"url": "/relative"}, "url"),
    ({"api_version": "2026-04"}, "api_version"),
    ({"secret": "my-own"}, "secret"),  # Polar's deprecated field: refused by name, not dropped
])
def test_an_endpoint_refuses_by_field_what_it_would_not_honour(changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        WebhookEndpointCreate.model_validate(endpoint(**changes))
    assert [e["loc"][0] for e in refused.value.errors()] == [field]


def test_an_update_checks_the_same_rules() -> None:
    with pytest.raises(ValidationError):
        WebhookEndpointUpdate.model_validate({"events": ["checkout.created"]})
    assert WebhookEndpointUpdate.model_validate({"enabled": False}).model_fields_set == {"enabled"}
