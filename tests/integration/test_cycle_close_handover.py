"""The cycle close with more due subscriptions than one invocation has time to queue: it hands the rest to a fresh
invocation of itself (a cursor in the due index), through Lambda's own path; the close workers close what it
queued, and every subscription closes once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from functions.common.clock import iso, parse_iso, utcnow
from functions.meters.service import CATCH_UP_AFTER, catch_up_backfills
from local_stack.stack import scheduled_event
from tests.integration.test_billing import CLOSE_PATH

SUBSCRIPTIONS = 80
SLOW_SEND = 0.5  # seconds added to each of the run's SQS calls: 8 batches of 10 take > 3 s on any machine


def test_a_close_that_runs_out_of_time_continues_in_fresh_invocations(org, local_stack, slow_calls) -> None:
    product = org.http.post("/v1/products/", json={"name": "Seat", "recurring_interval": "month",
                                                    "prices": [{"amount_type": "fixed", "price_amount": 1500}]})
    assert product.status_code == 201, product.text

    def post(path: str, body: dict) -> httpx.Response:
        # Eight writers at once meet DynamoDB's conflict rule on the organization's shared items: a 409 says
        # "retry", as it would in AWS.
        for _ in range(20):
            response = org.http.post(path, json=body)
            if response.status_code != 409:
                return response
            time.sleep(0.2)
        return response

    def subscribe(i: int) -> dict:
        customer = f"seat-{i}"
        post("/v1/customers/", {"email": f"{customer}@example.com", "external_id": customer})
        response = post("/v1/subscriptions/", {"external_customer_id": customer, "product_id": product.json()["id"]})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    with ThreadPoolExecutor(8) as pool:
        subscriptions = list(pool.map(subscribe, range(SUBSCRIPTIONS)))
    as_of = max(parse_iso(s["current_period_end"]) for s in subscriptions) + timedelta(hours=2)

    close = local_stack.function_name("cycle_close")
    # The session's other tests leave backfills for the close's sweeps; one backfill is one step of unbounded
    # length (an organization's events), which can outlast this test's 4 s. They are not this test's subject:
    # caught up here, before the run starts.
    catch_up_backfills(utcnow() + CATCH_UP_AFTER)
    slow_calls(local_stack.stack.functions[close].role, "sqs", SLOW_SEND)
    spec = local_stack.runtime.pools[close].spec
    finished_before = [c for c in local_stack.runtime.completed if c[0] == close]
    before, spec.timeout = spec.timeout, 4  # a quarter of it is kept back: about 3 seconds of closing each
    try:
        local_stack.invoke_async("cycle_close", scheduled_event("test-handover", as_of=iso(as_of)))
        assert local_stack.runtime.wait_idle(timeout=600)
    finally:
        spec.timeout = before
    assert local_stack.drain(CLOSE_PATH) == 0
    runs = [c for c in local_stack.runtime.completed if c[0] == close][len(finished_before):]
    assert len(runs) >= 2 and all(succeeded for _, _, succeeded in runs), runs

    seen, page = [], 1
    while True:
        listing = org.http.get("/v1/invoices/", params={"limit": 100, "page": page}).json()
        seen += listing["items"]
        if len(listing["items"]) < 100:
            break
        page += 1
    renewals = [i for i in seen if i["billing_reason"] == "subscription_cycle"]
    per_subscription: dict[str, int] = {}
    for invoice in renewals:
        per_subscription[invoice["subscription_id"]] = per_subscription.get(invoice["subscription_id"], 0) + 1
    assert set(per_subscription) == {s["id"] for s in subscriptions}
    assert set(per_subscription.values()) == {1}  # each closed exactly once across the invocations
