"""Webhooks as Polar has them, end to end on the local stack: an endpoint registered through polar-sdk, Meterbill's
events on the bus -> the rule -> the SQS queue -> the delivery Lambda (its own role, Lambda's SQS poller) -> a
receiver here, which verifies each delivery with the `standardwebhooks` package and with polar-sdk's own
`validate_event`."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from polar.v2026_10.client import Polar
from polar.v2026_10.errors import HTTPValidationError, ResourceNotFound
from polar.v2026_10.webhooks import (
    WebhookCustomerStateChangedPayload,
    WebhookOrderCreatedPayload,
    validate_event,
)
from standardwebhooks.webhooks import Webhook

from functions.common.clock import parse_iso
from tests.integration.test_billing import close_cycles


class Receiver:
    """An HTTP endpoint that records every request and answers the statuses it is told to, in order (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], str]] = []
        self.statuses: list[int] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with receiver.arrived:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver.arrived.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count: int, timeout: float) -> list[tuple[dict[str, str], str]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {count} deliveries after {timeout} s"
                self.arrived.wait(left)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def verified(headers: dict[str, str], body: str, secret: str):
    """Both verifiers accept it; polar-sdk's gives the typed payload."""
    Webhook(base64.b64encode(secret.encode()).decode()).verify(body, headers)
    return validate_event(body, headers, secret)


def cross_a_threshold(org, customer: str) -> None:
    meter = org.http.post("/v1/meters/", json={
        "name": "Calls", "filter": {"conjunction": "and", "clauses": []}, "aggregation": {"func": "count"},
        "thresholds": [{"id": "three", "type": "units", "value": 3}]})
    assert meter.status_code == 201, meter.text
    response = org.http.post("/v1/events/ingest", json={"events": [
        {"name": "call", "external_customer_id": customer, "external_id": f"{customer}-{i}"} for i in range(4)]})
    assert response.status_code == 200, response.text


def subscribed(org, polar, receiver: Receiver, events: list[str], who: str, amount: int) -> tuple:
    """An endpoint for `events`, and `who` subscribed to a monthly product of `amount` cents: (endpoint, the
    subscription's JSON)."""
    endpoint = polar.webhooks.create_webhook_endpoint(**{"url": receiver.url, "format": "raw", "events": events})
    product = org.http.post("/v1/products/", json={"name": f"Plan {who}", "recurring_interval": "month",
                                                    "prices": [{"amount_type": "fixed", "price_amount": amount}]})
    org.http.post("/v1/customers/", json={"email": f"{who}@example.com", "external_id": who})
    sub = org.http.post("/v1/subscriptions/", json={"external_customer_id": who, "product_id": product.json()["id"]})
    assert sub.status_code == 201, sub.text
    return endpoint, sub.json()


def test_a_threshold_crossing_is_delivered_signed_logged_and_redelivered(org, api_url, receiver) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        endpoint = polar.webhooks.create_webhook_endpoint(**{
            "url": receiver.url, "format": "raw", "events": ["customer.state_changed"], "name": "quota"})
        assert endpoint.secret.startswith("polar_whs_") and endpoint.enabled and endpoint.api_version == "2026-10"
        cross_a_threshold(org, "hooked")

        (headers, body), = receiver.wait_for(1, timeout=30)
        payload = verified(headers, body, endpoint.secret)
        assert isinstance(payload, WebhookCustomerStateChangedPayload)
        assert payload.data.external_id == "hooked"
        assert [m.consumed_units for m in payload.data.active_meters] == [4]

        deliveries = polar.webhooks.list_webhook_deliveries(endpoint_id=endpoint.id)
        assert [(d.succeeded, d.http_code, d.response) for d in deliveries.items] == [(True, 200, "ok")]
        event = deliveries.items[0].webhook_event
        assert (event.id, event.type, event.succeeded, event.payload) == (headers["webhook-id"],
                                                                         "customer.state_changed", True, body)

        polar.webhooks.redeliver_webhook_event(event.id)
        (_, _), (again, again_body) = receiver.wait_for(2, timeout=30)
        # The same event: same id and bytes, a new timestamp and signature.
        assert (again["webhook-id"], again_body) == (headers["webhook-id"], body)
        verified(again, again_body, endpoint.secret)
        assert polar.webhooks.list_webhook_deliveries(endpoint_id=endpoint.id).pagination.total_count == 2
        # A redelivery that fails is retried like any delivery, though the event was delivered before.
        receiver.statuses = [500]
        polar.webhooks.redeliver_webhook_event(event.id)
        *_, (retried, _) = receiver.wait_for(4, timeout=90)
        assert retried["webhook-id"] == headers["webhook-id"]
        log = polar.webhooks.list_webhook_deliveries(endpoint_id=endpoint.id).items
        assert [(d.succeeded, d.http_code) for d in log[:2]] == [(True, 200), (False, 500)]
        with pytest.raises(ResourceNotFound):
            polar.webhooks.redeliver_webhook_event("00000000-0000-0000-0000-000000000000")


def test_a_failing_endpoint_is_retried_later_and_a_delivered_one_is_not_sent_again(org, api_url,
                                                                                    receiver) -> None:
    healthy = Receiver()
    try:
        with Polar(org.token, base_url=api_url) as polar:
            failing = polar.webhooks.create_webhook_endpoint(**{
                "url": receiver.url, "format": "raw", "events": ["customer.state_changed"]})
            polar.webhooks.create_webhook_endpoint(**{
                "url": healthy.url, "format": "raw", "events": ["customer.state_changed"]})
            receiver.statuses = [503]
            cross_a_threshold(org, "flaky")
            first, second = receiver.wait_for(2, timeout=90)  # the first retry comes 30 s after the failure
            assert first[0]["webhook-id"] == second[0]["webhook-id"] and first[1] == second[1]
            verified(*second, failing.secret)
            time.sleep(2)
            assert len(healthy.received) == 1  # the retried message skipped the endpoint that had it

            log = polar.webhooks.list_webhook_deliveries(endpoint_id=failing.id).items
            assert [(d.succeeded, d.http_code) for d in log] == [(True, 200), (False, 503)]  # newest first
            failed = polar.webhooks.list_webhook_deliveries(succeeded=False, http_code_class="5xx").items
            assert [d.id for d in failed] == [log[1].id]
    finally:
        healthy.server.shutdown()


def test_an_invoice_is_an_order_created_webhook_in_polars_order_shape(org, api_url, receiver) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        endpoint, subscription = subscribed(org, polar, receiver, ["order.created"], "team", 2500)
        (headers, body), = receiver.wait_for(1, timeout=30)
        payload = verified(headers, body, endpoint.secret)
        assert isinstance(payload, WebhookOrderCreatedPayload)
        assert (payload.data.total_amount, payload.data.customer.external_id, payload.data.billing_reason) == (
            2500, "team", "subscription_create")
        assert payload.data.subscription_id == subscription["id"]


def test_endpoints_are_managed_through_polar_sdk_and_what_meterbill_does_not_send_is_refused(org, api_url,
                                                                                            receiver) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        created = polar.webhooks.create_webhook_endpoint(**{
            "url": receiver.url, "format": "raw", "events": ["order.created"]})
        assert polar.webhooks.get_webhook_endpoint(created.id).url == receiver.url
        updated = polar.webhooks.update_webhook_endpoint(created.id, **{
            "events": ["order.created", "customer.state_changed"], "enabled": False, "name": "ops"})
        assert (updated.events, updated.enabled, updated.name) == (["order.created", "customer.state_changed"],
                                                                   False, "ops")
        reset = polar.webhooks.reset_webhook_endpoint_secret(created.id)
        assert reset.secret != created.secret and reset.secret.startswith("polar_whs_")
        assert [e.id for e in polar.webhooks.list_webhook_endpoints().items] == [created.id]

        for bad, field in (({"events": ["checkout.created"]}, "events"), ({"format": "slack"}, "format"),
                           ({"url": "http://example.com/hook"}, "url"), ({"api_version": "2026-04"}, "api_version"),
                           ({"secret": "mine"}, "secret")):
            request = {"url": receiver.url, "format": "raw", "events": ["order.created"], **bad}
            with pytest.raises(HTTPValidationError) as refused:
                polar.webhooks.create_webhook_endpoint(**request)
            assert [list(d.loc) for d in refused.value.error.detail] == [["body", field]], bad

        polar.webhooks.delete_webhook_endpoint(created.id)
        with pytest.raises(ResourceNotFound):
            polar.webhooks.get_webhook_endpoint(created.id)


def test_a_disabled_endpoint_receives_nothing(org, api_url, receiver) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        endpoint = polar.webhooks.create_webhook_endpoint(**{
            "url": receiver.url, "format": "raw", "events": ["customer.state_changed"]})
        polar.webhooks.update_webhook_endpoint(endpoint.id, **{"enabled": False})
        cross_a_threshold(org, "quiet")
        time.sleep(5)
        assert receiver.received == []
        assert polar.webhooks.list_webhook_deliveries().items == []


SUBSCRIPTION_HOOKS = ["subscription.created", "subscription.active", "subscription.updated", "subscription.canceled",
                      "subscription.uncanceled", "subscription.revoked", "order.paid", "order.updated"]


def types_of(received: list[tuple[dict[str, str], str]], secret: str) -> list[str]:
    return sorted(verified(headers, body, secret).type for headers, body in received)


def test_a_subscription_s_life_and_its_invoice_s_payment_are_polars_webhooks(org, api_url, receiver) -> None:
    """Each change, through the API, is its webhooks, in Polar's shapes, each sent once (ids never repeat), the
    state each carries the one its change made; the close's sweep afterwards finds nothing left to send."""
    with Polar(org.token, base_url=api_url) as polar:
        endpoint, sub = subscribed(org, polar, receiver, SUBSCRIPTION_HOOKS, "life", 2500)
        seen = receiver.wait_for(2, timeout=30)
        assert types_of(seen, endpoint.secret) == ["subscription.active", "subscription.created"]
        created = verified(*seen[0], endpoint.secret)
        assert (created.data.id, created.data.customer.external_id, created.data.amount) == (sub["id"], "life", 2500)

        invoice, = org.http.get("/v1/invoices/", params={"subscription_id": sub["id"]}).json()["items"]
        assert org.http.patch(f"/v1/invoices/{invoice['id']}", json={"status": "paid"}).status_code == 200
        seen = receiver.wait_for(4, timeout=30)
        assert types_of(seen[2:], endpoint.secret) == ["order.paid", "order.updated"]
        paid = next(p for p in (verified(*r, endpoint.secret) for r in seen[2:]) if p.type == "order.paid")
        assert (paid.data.id, paid.data.status, paid.data.paid) == (invoice["id"], "paid", True)

        assert org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"cancel_at_period_end": True}).status_code == 200
        seen = receiver.wait_for(6, timeout=30)
        assert types_of(seen[4:], endpoint.secret) == ["subscription.canceled", "subscription.updated"]
        assert all(verified(*r, endpoint.secret).data.cancel_at_period_end for r in seen[4:])

        assert org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"cancel_at_period_end": False}).status_code == 200
        seen = receiver.wait_for(8, timeout=30)
        assert types_of(seen[6:], endpoint.secret) == ["subscription.uncanceled", "subscription.updated"]

        assert org.http.delete(f"/v1/subscriptions/{sub['id']}").status_code == 200
        # Revoked now: canceled and revoked, and the final invoice (nothing due: paid when issued) is order.paid.
        seen = receiver.wait_for(12, timeout=30)
        assert types_of(seen[8:], endpoint.secret) == ["order.paid", "subscription.canceled",
                                                       "subscription.revoked", "subscription.updated"]
        revoked = next(p for p in (verified(*r, endpoint.secret) for r in seen[8:]) if p.type == "subscription.revoked")
        assert (revoked.data.status, revoked.data.ended_at is not None) == ("canceled", True)

        close_cycles(datetime.now(UTC))  # the sweep: nothing of this organization is left to announce
        time.sleep(3)
        assert len(receiver.received) == 12
        assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 12


def test_an_announcement_lost_after_its_change_committed_is_sent_once_by_the_next_close(
        org, api_url, receiver, local_stack, edge_hooks) -> None:
    """The bus down when a subscription is cancelled: the change stands (200), its announcements wait in the
    outbox, written in the cancellation's own transaction; the next cycle-close run publishes them, and a second
    run publishes nothing again."""
    with Polar(org.token, base_url=api_url) as polar:
        endpoint, sub = subscribed(org, polar, receiver, ["subscription.canceled", "subscription.updated"],
                                   "lost-hook", 900)
        management_role = local_stack.stack.functions[local_stack.function_name("management")].role

        def eventbridge_down(when: str, principal: str, service_name: str, operation: str):
            if when == "before" and principal == management_role and operation == "PutEvents":
                return 500, {"Content-Type": "application/x-amz-json-1.1"}, b'{"__type": "InternalException"}'
            return None

        edge_hooks.append(eventbridge_down)
        cancelled = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"cancel_at_period_end": True})
        edge_hooks.clear()
        assert cancelled.status_code == 200 and cancelled.json()["cancel_at_period_end"] is True
        time.sleep(3)
        assert receiver.received == []

        first = close_cycles(datetime.now(UTC))
        assert first["announced"] >= 2
        seen = receiver.wait_for(2, timeout=30)
        assert types_of(seen, endpoint.secret) == ["subscription.canceled", "subscription.updated"]
        assert close_cycles(datetime.now(UTC))["announced"] == 0
        time.sleep(3)
        assert len(receiver.received) == 2


def test_credit_appearing_on_the_balance_is_a_customer_state_change(org, api_url, receiver) -> None:
    """A downgrade invoiced at once leaves a negative invoice: its credit goes to the balance, from none, which
    is `customer.state_changed` (a credit that only shrinks or grows is not)."""
    with Polar(org.token, base_url=api_url) as polar:
        endpoint = polar.webhooks.create_webhook_endpoint(**{
            "url": receiver.url, "format": "raw", "events": ["customer.state_changed"]})
        big, small = (org.http.post("/v1/products/", json={
            "name": name, "recurring_interval": "month",
            "prices": [{"amount_type": "fixed", "price_amount": amount}]}).json() for name, amount in (
            ("Big", 3000), ("Small", 1000)))
        org.http.post("/v1/customers/", json={"email": "credit@example.com", "external_id": "credit"})
        sub = org.http.post("/v1/subscriptions/", json={"external_customer_id": "credit", "product_id": big["id"]})
        time.sleep(2)
        assert receiver.received == []  # the first invoice is due: no credit yet
        changed = org.http.patch(f"/v1/subscriptions/{sub.json()['id']}", json={
            "product_id": small["id"], "proration_behavior": "invoice"})
        assert changed.status_code == 200, changed.text
        (headers, body), = receiver.wait_for(1, timeout=30)
        state = verified(headers, body, endpoint.secret)
        assert isinstance(state, WebhookCustomerStateChangedPayload)
        assert state.data.external_id == "credit"
        # Meterbill's field beside Polar's (polar-sdk's CustomerState has no balances)
        assert [(b["currency"], b["balance"] > 1900) for b in json.loads(body)["data"]["balances"]] == [("usd", True)]


def test_a_renewal_is_subscription_updated_with_the_new_period_sent_by_the_close(org, api_url, receiver) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        endpoint, sub = subscribed(org, polar, receiver, ["subscription.updated"], "renew", 500)
        due = parse_iso(sub["current_period_end"]) + timedelta(hours=2)
        close_cycles(due)
        (headers, body), = receiver.wait_for(1, timeout=30)
        renewed = verified(headers, body, endpoint.secret)
        assert (renewed.data.id, renewed.data.current_period_start) == (sub["id"], sub["current_period_end"])
        close_cycles(due)  # a second run as of the same time renews nothing and announces nothing again
        time.sleep(3)
        assert len(receiver.received) == 1


def test_a_customer_s_own_cancellation_in_the_portal_is_announced_at_once(org, api_url, receiver) -> None:
    """The portal Lambda publishes its changes' announcements itself (its role may put events on the bus): the
    webhook arrives without waiting for a cycle-close run."""
    with Polar(org.token, base_url=api_url) as polar:
        endpoint, sub = subscribed(org, polar, receiver, ["subscription.canceled"], "self-serve", 700)
        session = org.http.post("/v1/customer-sessions/", json={"external_customer_id": "self-serve"}).json()
    with Polar(session["token"], base_url=api_url) as customer:
        customer.customer_portal.subscriptions.cancel(sub["id"])
    (headers, body), = receiver.wait_for(1, timeout=20)
    canceled = verified(headers, body, endpoint.secret)
    assert (canceled.data.id, canceled.data.cancel_at_period_end) == (sub["id"], True)
