"""Billing end to end on DynamoDB Local and moto: subscriptions, the cycle close, invoices, publishing."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from pypdf import PdfReader

from functions.common.clock import iso, parse_iso
from local_stack.stack import scheduled_event
from tests.conftest import RUNNING, invoke
from tests.integration.conftest import audit_is_clean, create_meter
from tests.oracle import meter_value

CLOSE_PATH = ("close_worker", "invoice_publisher")  # the queue-driven functions a close run feeds


def close_cycles(as_of: datetime) -> dict:
    """The cycle-close Lambda, invoked as its schedule does (with `as_of`, as `meterbill close-cycles` does), then
    the close workers and the invoice publisher left to empty their queues. `failed`: the messages still there
    after 5 minutes (a close or a publication that kept failing is retried only after its visibility timeout)."""
    result = invoke("cycle_close", scheduled_event("test-close", as_of=iso(as_of)))
    return {**result, "failed": RUNNING["stack"].drain(CLOSE_PATH)}


def ingest(org, customer: str, units: list[int], prefix: str) -> None:
    events = [{"name": "api_call", "external_customer_id": customer, "external_id": f"{prefix}-{i}",
               "metadata": {"n": n}} for i, n in enumerate(units)]
    response = org.http.post("/v1/events/ingest", json={"events": events})
    assert response.status_code == 200, response.text



def subscribe(org, customer: str, product_id: str, customer_fields: dict | None = None, **extra) -> dict:
    org.http.post("/v1/customers/", json={"email": f"{customer}@example.com", "external_id": customer,
                                          "billing_address": {"country": "DE"}, **(customer_fields or {})})
    response = org.http.post("/v1/subscriptions/", json={"external_customer_id": customer, "product_id": product_id,
                                                        **extra})
    assert response.status_code == 201, response.text
    return response.json()


def invoices(org, subscription_id: str) -> list[dict]:
    return org.http.get("/v1/invoices/", params={"subscription_id": subscription_id, "limit": 100}).json()["items"]


def test_cycle_close_bills_usage_in_arrears_and_fixed_in_advance(org, plan, tmp_path) -> None:
    org.http.post("/v1/tax-rates/", json={"name": "DE VAT", "country": "DE", "basis_points": 1900})
    sub = subscribe(org, "acme", plan["product"]["id"])
    first = invoices(org, sub["id"])
    assert [(i["billing_reason"], i["subtotal"], i["tax_amount"], i["total"]) for i in first] == [
        ("subscription_create", 2000, 380, 2380)]
    ingest(org, "acme", [400, 500, 300], "a")  # 1,200 units; 100 credited -> 1,100 billable
    state = org.http.get("/v1/customers/external/acme/state").json()["active_meters"][0]
    assert (state["consumed_units"], state["credited_units"], state["balance"]) == (1200, 100, -1100)
    preview = org.http.get(f"/v1/subscriptions/{sub['id']}/upcoming-invoice").json()

    end = parse_iso(sub["current_period_end"])
    # The stack is shared with other tests' subscriptions: counts are checked on this subscription's invoices.
    close_cycles(end)
    assert len(invoices(org, sub["id"])) == 1  # still within the grace period
    assert close_cycles(end + timedelta(hours=2))["failed"] == 0
    cycle = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"][0]
    metered = [line for line in cycle["lines"] if line["kind"] == "metered"][0]
    # 1,000 x 2c + 100 x 1c = 2,100c usage, + 2,000c next month's fee, + 19% VAT.
    assert metered["amount"] == 2100 and metered["quantity"] == "1100"
    assert (cycle["subtotal"], cycle["tax_amount"], cycle["total"]) == (4100, 779, 4879)
    assert parse_iso(cycle["created_at"]) == end + timedelta(hours=2)  # issued as of the run, not the wall clock
    assert cycle["number"] == first[0]["number"] + 1
    assert {k: preview[k] for k in ("subtotal", "tax_amount", "total")} == {
        k: cycle[k] for k in ("subtotal", "tax_amount", "total")}  # the preview used the same code
    renewed = org.http.get(f"/v1/subscriptions/{sub['id']}").json()
    assert renewed["current_period_start"] == sub["current_period_end"]
    # A second run writes nothing new.
    assert close_cycles(end + timedelta(hours=3))["failed"] == 0
    assert len(invoices(org, sub["id"])) == 2
    audit_is_clean(org.id, tmp_path)


def test_requests_billing_refuses_name_their_field(org, plan) -> None:
    sub = subscribe(org, "one-change", plan["product"]["id"])
    both = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": plan["product"]["id"],
                                                                  "cancel_at_period_end": True})
    assert both.status_code == 422 and "not both" in both.text, both.text
    assert org.http.get(f"/v1/subscriptions/{sub['id']}").json()["cancel_at_period_end"] is False  # nothing written

    euros = org.http.post("/v1/discounts/", json={"name": "10 EUR", "type": "fixed", "amount": 1000,
                                                  "currency": "eur", "duration": "once"}).json()
    org.http.post("/v1/customers/", json={"email": "eu@example.com", "external_id": "eu-buyer"})
    refused = org.http.post("/v1/subscriptions/", json={"external_customer_id": "eu-buyer", "discount_id": euros["id"],
                                                        "product_id": plan["product"]["id"]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "discount_id"] and "eur" in refused.text

    product_id = plan["product"]["id"]
    for body, field in (({"external_customer_id": "eu-buyer", "product_id": "no-such-product"}, "product_id"),
                        ({"external_customer_id": "nobody", "product_id": product_id}, "external_customer_id")):
        unknown = org.http.post("/v1/subscriptions/", json=body)
        assert (unknown.status_code, unknown.json()["detail"][0]["loc"]) == (422, ["body", field]), unknown.text
    moved = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": "no-such-product"})
    assert (moved.status_code, moved.json()["detail"][0]["loc"]) == (422, ["body", "product_id"]), moved.text

    rate = org.http.post("/v1/tax-rates/", json={"name": "NY", "country": "us", "state": "ny", "basis_points": 887})
    assert (rate.json()["country"], rate.json()["state"]) == ("US", "NY")


def test_products_discounts_and_tax_rates_are_archived_not_lost(org, plan) -> None:
    product_id = plan["product"]["id"]
    rate = org.http.post("/v1/tax-rates/", json={"name": "DE VAT", "country": "DE", "basis_points": 1900}).json()
    half = org.http.post("/v1/discounts/", json={"name": "half", "type": "percentage", "basis_points": 5000,
                                                 "duration": "forever"}).json()
    kept = subscribe(org, "kept-on", product_id, discount_id=half["id"])
    assert invoices(org, kept["id"])[0]["tax_amount"] == 190  # 1,000c after the discount, 19% of it

    assert org.http.delete(f"/v1/discounts/{half['id']}").status_code == 204
    assert org.http.get(f"/v1/discounts/{half['id']}").json()["archived_at"]
    assert org.http.delete(f"/v1/tax-rates/{rate['id']}").status_code == 204
    archived = org.http.patch(f"/v1/products/{product_id}", json={"is_archived": True, "name": "Pro (old)"})
    assert archived.status_code == 200 and archived.json()["is_archived"] and archived.json()["name"] == "Pro (old)"
    untouched = org.http.patch(f"/v1/products/{product_id}", json={"is_archived": None, "name": None,
                                                                   "metadata": None})
    assert untouched.status_code == 200, untouched.text  # null on a field that can't be cleared: no change
    assert (untouched.json()["is_archived"], untouched.json()["name"]) == (True, "Pro (old)")
    listed = org.http.get("/v1/products/", params={"is_archived": "false", "limit": 100}).json()["items"]
    assert product_id not in {p["id"] for p in listed}

    org.http.post("/v1/customers/", json={"email": "late@example.com", "external_id": "too-late",
                                          "billing_address": {"country": "DE"}})
    refused = org.http.post("/v1/subscriptions/", json={"external_customer_id": "too-late", "product_id": product_id})
    assert (refused.status_code, refused.json()["detail"][0]["loc"]) == (422, ["body", "product_id"])
    other = org.http.post("/v1/products/", json={"name": "Other", "recurring_interval": "month",
                                                 "prices": [{"amount_type": "fixed", "price_amount": 1000}]}).json()
    refused = org.http.post("/v1/subscriptions/", json={"external_customer_id": "too-late", "product_id": other["id"],
                                                        "discount_id": half["id"]})
    assert (refused.status_code, refused.json()["detail"][0]["loc"]) == (422, ["body", "discount_id"])
    fresh = org.http.post("/v1/subscriptions/", json={"external_customer_id": "too-late", "product_id": other["id"]})
    assert invoices(org, fresh.json()["id"])[0]["tax_amount"] == 0  # the archived rate no longer applies

    close_cycles(parse_iso(kept["current_period_end"]) + timedelta(hours=2))
    renewal = [i for i in invoices(org, kept["id"]) if i["billing_reason"] == "subscription_cycle"]
    assert len(renewal) == 1 and renewal[0]["discount_amount"] > 0  # the subscription keeps its discount


def test_deleting_a_customer_cancels_its_subscription_with_a_final_invoice(org, plan) -> None:
    sub = subscribe(org, "leaving", plan["product"]["id"])
    ingest(org, "leaving", [300], "gone")
    customer_id = sub["customer_id"]
    assert org.http.delete(f"/v1/customers/{customer_id}").status_code == 204
    ended = org.http.get(f"/v1/subscriptions/{sub['id']}").json()
    assert ended["status"] == "canceled" and ended["ended_at"]
    final = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cancel"]
    assert len(final) == 1
    assert [line["consumed_units"] for line in final[0]["lines"] if line["kind"] == "metered"] == ["300"]
    # The close has nothing left to trip over, however far ahead it runs.
    assert close_cycles(parse_iso(sub["current_period_end"]) + timedelta(days=40))["failed"] == 0
    assert len(invoices(org, sub["id"])) == 2
    assert org.http.delete(f"/v1/customers/{customer_id}").status_code == 404


def test_late_events_after_close_are_billed_once_on_the_next_invoice(org, plan) -> None:
    sub = subscribe(org, "late-co", plan["product"]["id"])
    ingest(org, "late-co", [150], "before")
    end = parse_iso(sub["current_period_end"])
    close_cycles(end + timedelta(hours=2))
    # Events stamped inside the closed period arrive after the close (and again, as a retry).
    for _ in range(2):
        ingest(org, "late-co", [70, 30], "late")
    assert meter_value(org.http, "late-co", plan["meter_id"]) == 100  # counted in the open period
    second_end = parse_iso(org.http.get(f"/v1/subscriptions/{sub['id']}").json()["current_period_end"])
    close_cycles(second_end + timedelta(hours=2))
    cycles = sorted((i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"),
                    key=lambda i: i["number"])
    usage = [[line for line in i["lines"] if line["kind"] == "metered"][0] for i in cycles]
    assert [(u["consumed_units"], u["quantity"]) for u in usage] == [("150", "50"), ("100", "0")]


def test_two_close_runs_at_once_write_one_invoice_per_period(org, plan, local_stack) -> None:
    subs = [subscribe(org, f"twin-{i}", plan["product"]["id"]) for i in range(4)]
    for i in range(4):
        ingest(org, f"twin-{i}", [10 * (i + 1)], f"t{i}")
    as_of = parse_iso(subs[-1]["current_period_end"]) + timedelta(hours=2)
    results: list[dict] = []
    # In AWS the function's reserved concurrency of 1 keeps runs from overlapping; the close must be safe even
    # without it (a manual invoke, a changed limit), so the limit is lifted here.
    pool = local_stack.runtime.pools[local_stack.function_name("cycle_close")]
    assert pool.limit == 1
    pool.limit = 2
    try:
        runs = [threading.Thread(target=lambda: results.append(close_cycles(as_of))) for _ in range(2)]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
    finally:
        pool.limit = 1
    assert sum(r["queued"] for r in results) >= 4 and all(r["failed"] == 0 for r in results)
    numbers = []
    for sub in subs:
        cycle = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"]
        assert len(cycle) == 1
        numbers += [i["number"] for i in invoices(org, sub["id"])]
    all_numbers = sorted(i["number"] for i in org.http.get("/v1/invoices/", params={"limit": 100}).json()["items"])
    assert all_numbers == list(range(1, len(all_numbers) + 1))  # no gaps, no repeats


def test_close_racing_ingest_loses_nothing_and_bills_nothing_twice(org, plan) -> None:
    sub = subscribe(org, "racer", plan["product"]["id"])
    end = parse_iso(sub["current_period_end"])
    stop = threading.Event()
    sent: list[int] = []

    def keep_ingesting() -> None:
        batch = 0
        while not stop.is_set() and batch < 40:
            ingest(org, "racer", [1] * 20, f"r{batch}")
            sent.append(20)
            batch += 1

    worker = threading.Thread(target=keep_ingesting)
    worker.start()
    while len(sent) < 5:
        pass
    close_cycles(end + timedelta(hours=2))
    stop.set()
    worker.join()
    cycle = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"][0]
    billed = int([line for line in cycle["lines"] if line["kind"] == "metered"][0]["consumed_units"])
    still_open = meter_value(org.http, "racer", plan["meter_id"])
    assert billed + still_open == sum(sent)
    assert billed >= 100


def test_cancel_now_bills_usage_so_far_and_period_end_cancel_skips_the_next_fee(org, plan) -> None:
    sub = subscribe(org, "leaver", plan["product"]["id"])
    ingest(org, "leaver", [300], "l")
    revoked = org.http.delete(f"/v1/subscriptions/{sub['id']}").json()
    assert revoked["status"] == "canceled"
    final = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cancel"][0]
    assert [(line["kind"], line["amount"]) for line in final["lines"]] == [("metered", 400)]
    # The period is closed and billed, no credits remain: nothing is active until new usage arrives.
    assert org.http.get("/v1/customers/external/leaver/state").json()["active_meters"] == []
    ingest(org, "leaver", [5], "after")
    assert meter_value(org.http, "leaver", plan["meter_id"]) == 5  # back to calendar-month metering

    other = subscribe(org, "winding-down", plan["product"]["id"])
    org.http.patch(f"/v1/subscriptions/{other['id']}", json={"cancel_at_period_end": True})
    close_cycles(parse_iso(other["current_period_end"]) + timedelta(hours=2))
    last = [i for i in invoices(org, other["id"]) if i["billing_reason"] == "subscription_cancel"][0]
    assert [line["kind"] for line in last["lines"]] == ["metered"] and last["total"] == 0
    assert org.http.get(f"/v1/subscriptions/{other['id']}").json()["status"] == "canceled"


def test_upgrade_with_invoice_proration_and_discount_code(org, plan) -> None:
    bigger = org.http.post("/v1/products/", json={"name": "Max", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 5000}]}).json()
    org.http.post("/v1/discounts/", json={"name": "Launch", "type": "percentage", "basis_points": 5000,
                                          "duration": "once", "code": "LAUNCH50", "max_redemptions": 1})
    sub = subscribe(org, "upgrader", plan["product"]["id"], discount_code="LAUNCH50")
    created = invoices(org, sub["id"])[0]
    assert (created["subtotal"], created["discount_amount"], created["total"]) == (2000, 1000, 1000)
    again = org.http.post("/v1/customers/", json={"email": "second@example.com", "external_id": "second"})
    assert again.status_code == 201
    exhausted = org.http.post("/v1/subscriptions/", json={"external_customer_id": "second",
                                                          "product_id": plan["product"]["id"],
                                                          "discount_code": "LAUNCH50"})
    assert exhausted.status_code == 422
    changed = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": bigger["id"],
                                                                    "proration_behavior": "invoice"})
    assert changed.status_code == 200, changed.text
    update = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_update"][0]
    line = update["lines"][0]
    assert line["kind"] == "proration" and 2990 <= line["amount"] <= 3000  # nearly the whole month left


def test_invoice_pdf_opens_and_shows_lines_and_total_and_event_is_announced(org, plan, local_aws) -> None:
    sqs = boto3.client("sqs", endpoint_url=local_aws.endpoint)
    events = boto3.client("events", endpoint_url=local_aws.endpoint)
    queue_url = sqs.create_queue(QueueName=f"invoices-{org.id[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"inv-{org.id[:8]}", EventBusName=local_aws.event_bus,
                    EventPattern=json.dumps({"source": ["meterbill"], "detail-type": ["invoice.created"]}))
    events.put_targets(Rule=f"inv-{org.id[:8]}", EventBusName=local_aws.event_bus,
                       Targets=[{"Id": "q", "Arn": queue_arn}])
    sub = subscribe(org, "pdf-co", plan["product"]["id"])
    invoice = invoices(org, sub["id"])[0]
    response = org.http.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"Invoice {invoice['number']}" in text and "Pro" in text and "20.00 USD" in text
    stored = org.http.get(f"/v1/invoices/{invoice['id']}").json()
    assert stored["artifacts"]["pdf"].endswith(".pdf")
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    assert json.loads(s3.get_object(Bucket=local_aws.invoice_bucket, Key=stored["artifacts"]["json"])["Body"].read())[
        "total"] == invoice["total"]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    details = [json.loads(m["Body"])["detail"] for m in messages]
    assert any(d["invoice_id"] == invoice["id"] for d in details)
    paid = org.http.patch(f"/v1/invoices/{invoice['id']}", json={"status": "paid"})
    assert paid.json()["status"] == "paid"
    assert org.http.patch(f"/v1/invoices/{invoice['id']}", json={"status": "void"}).status_code == 422


def test_billing_is_isolated_between_organizations(org, other_org, plan) -> None:
    from tests.isolation import assert_invisible, assert_not_listed

    sub = subscribe(org, "iso-co", plan["product"]["id"])
    invoice = invoices(org, sub["id"])[0]
    assert_invisible(other_org.http, [f"/v1/products/{plan['product']['id']}", f"/v1/subscriptions/{sub['id']}",
                                      f"/v1/invoices/{invoice['id']}", f"/v1/invoices/{invoice['id']}/pdf",
                                      f"/v1/subscriptions/{sub['id']}/upcoming-invoice"])
    assert_not_listed(other_org.http, "/v1/invoices/", [invoice["id"]])
    assert_not_listed(other_org.http, "/v1/subscriptions/", [sub["id"]])
    assert other_org.http.delete(f"/v1/subscriptions/{sub['id']}").status_code == 404
    assert other_org.http.patch(f"/v1/invoices/{invoice['id']}", json={"status": "void"}).status_code == 404


def test_product_validation(org) -> None:
    bad = org.http.post("/v1/products/", json={"name": "x", "recurring_interval": "month", "prices": [
        {"amount_type": "metered_unit", "meter_id": "nope", "unit_amount": "1"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "prices", 0, "meter_id"]
    tiers = org.http.post("/v1/products/", json={"name": "x", "recurring_interval": "month", "prices": [
        {"amount_type": "metered_tiers", "meter_id": "m", "tiers": {"type": "graduated", "tiers": [
            {"bound": 10, "unit_amount": "1"}, {"bound": 5, "unit_amount": "1"}, {"unit_amount": "1"}]}}]})
    assert tiers.status_code == 422


def test_usage_before_a_product_change_is_billed_at_the_old_prices(org, tmp_path) -> None:
    calls = create_meter(org, "segment calls", {"func": "sum", "property": "n"},
                         [{"property": "name", "operator": "eq", "value": "api_call"}])
    peak = create_meter(org, "segment peak", {"func": "max", "property": "n"},
                        [{"property": "name", "operator": "eq", "value": "api_call"}])

    def product(name: str, prices: list[dict]) -> dict:
        response = org.http.post("/v1/products/", json={"name": name, "recurring_interval": "month", "prices": prices})
        assert response.status_code == 201, response.text
        return response.json()

    old = product("Old", [{"amount_type": "metered_unit", "meter_id": calls, "unit_amount": "3"},
                          {"amount_type": "metered_unit", "meter_id": peak, "unit_amount": "100"}])
    new = product("New", [{"amount_type": "metered_unit", "meter_id": calls, "unit_amount": "1"}])
    sub = subscribe(org, "segments", old["id"])
    ingest(org, "segments", [40, 70], "before")  # calls 110, peak 70
    changed = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": new["id"]})
    assert changed.status_code == 200, changed.text
    state = org.http.get("/v1/customers/external/segments/state").json()["active_meters"]
    assert calls not in [m["meter_id"] for m in state]  # a new segment began: no usage in it yet
    ingest(org, "segments", [25, 5], "after")  # calls 30 (peak 25: the new product does not price it)

    assert close_cycles(parse_iso(sub["current_period_end"]) + timedelta(hours=2))["failed"] == 0
    [cycle] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"]
    by_price = sorted((line["price_id"], line["quantity"], line["amount"]) for line in cycle["lines"])
    # Before the change: 110 calls x 3c = 330c and a peak of 70 x 100c = 7,000c (a meter the new product drops);
    # after it: 30 calls x 1c = 30c.
    prices = {p["meter_id"]: p["id"] for p in old["prices"]}
    assert by_price == sorted([(prices[calls], "110", 330), (prices[peak], "70", 7000),
                               (new["prices"][0]["id"], "30", 30)])
    assert cycle["subtotal"] == 7360
    audit_is_clean(org.id, tmp_path)


def test_a_change_invoiced_now_bills_the_usage_so_far_at_the_old_price(org) -> None:
    calls = create_meter(org, "invoiced segment calls", {"func": "count"},
                         [{"property": "name", "operator": "eq", "value": "api_call"}])
    old, new = (org.http.post("/v1/products/", json={
        "name": name, "recurring_interval": "month",
        "prices": [{"amount_type": "metered_unit", "meter_id": calls, "unit_amount": rate}]}).json()
        for name, rate in (("Old", "7"), ("New", "2")))
    sub = subscribe(org, "invoiced-segment", old["id"])
    ingest(org, "invoiced-segment", [1, 1, 1], "before")  # 3 calls
    changed = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": new["id"],
                                                                      "proration_behavior": "invoice"})
    assert changed.status_code == 200, changed.text
    [update] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_update"]
    assert [(line["quantity"], line["amount"]) for line in update["lines"]] == [("3", 21)]  # 3 x 7c, now
    assert changed.json()["pending_lines"] == []


def vat_of_credit(amount: int) -> int:
    """19% of a negative amount, rounded half away from zero (the one rule), by integer arithmetic."""
    return -((-amount * 19 + 50) // 100)


def downgrade_to_credit(org, customer: str, small_fee: int = 1500, **small: str) -> tuple[dict, dict, int]:
    """Big (5,000c) with DE VAT, changed to Small with `invoice` proration right away: a negative invoice.
    Returns the subscription, the update invoice and the credit it left (hand-computed from its line)."""
    org.http.post("/v1/tax-rates/", json={"name": "DE VAT", "country": "DE", "basis_points": 1900})
    big, smaller = (org.http.post("/v1/products/", json={"name": name, "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": fee}]}).json() for name, fee in (("Big", 5000), ("Small", small_fee)))
    sub = subscribe(org, customer, big["id"])
    changed = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": smaller["id"],
                                                                    "proration_behavior": "invoice"})
    assert changed.status_code == 200, changed.text
    [update] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_update"]
    [proration] = update["lines"]
    amount = proration["amount"]
    assert small_fee - 5000 <= amount <= small_fee - 5000 + 10  # nearly the whole month left
    tax = vat_of_credit(amount)
    credit = -(amount + tax)  # (1,500 - 5,000) x 1 = -3,500c, tax -665c: 4,165c of credit
    assert (update["tax_amount"], update["total"], update["applied_balance"], update["amount_due"],
            update["status"]) == (tax, amount + tax, credit, 0, "paid")
    return sub, update, credit


def balances(org, customer: str) -> list[dict]:
    found = org.http.get(f"/v1/customers/external/{customer}").json()["balances"]
    state = org.http.get(f"/v1/customers/external/{customer}/state").json()["balances"]
    assert found == state
    return found  # type: ignore[no-any-return]


def test_a_negative_invoice_becomes_credit_applied_to_the_next_invoices(org, tmp_path) -> None:
    sub, _, credit = downgrade_to_credit(org, "downgrader")
    assert balances(org, "downgrader") == [{"balance": credit, "currency": "usd"}]
    upcoming = org.http.get(f"/v1/subscriptions/{sub['id']}/upcoming-invoice").json()  # the close's own code
    assert (upcoming["total"], upcoming["applied_balance"], upcoming["amount_due"]) == (1785, -1785, 0)
    left = credit
    for n in range(3):  # each close bills the next month: 1,500c + 285c VAT = 1,785c
        end = parse_iso(org.http.get(f"/v1/subscriptions/{sub['id']}").json()["current_period_end"])
        for _ in range(2):  # the second run of the same close writes nothing and moves no credit
            assert close_cycles(end + timedelta(hours=2))["failed"] == 0
        cycles = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"]
        assert len(cycles) == n + 1
        cycle = cycles[0]  # newest first
        applied = min(left, 1785)
        assert (cycle["subtotal"], cycle["tax_amount"], cycle["total"], cycle["applied_balance"],
                cycle["amount_due"]) == (1500, 285, 1785, -applied, 1785 - applied)
        left -= applied
        assert balances(org, "downgrader") == ([{"balance": left, "currency": "usd"}] if left else [])
    # 4,165 - 1,785 - 1,785 = 595c paid the third invoice in part: 1,190c due, and it stays open.
    assert (cycle["status"], left) == ("open", 0) and cycles[1]["status"] == cycles[2]["status"] == "paid"
    # Voiding it gives back the credit it took.
    voided = org.http.patch(f"/v1/invoices/{cycle['id']}", json={"status": "void"})
    assert voided.status_code == 200 and voided.json()["status"] == "void", voided.text
    assert balances(org, "downgrader") == [{"balance": 1785 - cycle["amount_due"], "currency": "usd"}]
    audit_is_clean(org.id, tmp_path)


def test_credit_in_one_currency_pays_nothing_in_another_and_the_portal_shows_it(org, api_url) -> None:
    sub, _, credit = downgrade_to_credit(org, "traveller")
    final = org.http.delete(f"/v1/subscriptions/{sub['id']}")
    assert final.status_code == 200, final.text
    [cancel] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cancel"]
    assert (cancel["total"], cancel["applied_balance"], cancel["status"]) == (0, 0, "paid")  # nothing to pay
    euro = org.http.post("/v1/products/", json={"name": "Euro", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 1000, "price_currency": "eur"}]}).json()
    again = org.http.post("/v1/subscriptions/", json={"external_customer_id": "traveller", "product_id": euro["id"]})
    assert again.status_code == 201, again.text
    [created] = invoices(org, again.json()["id"])
    # 1,000c + 190c VAT in EUR, the USD credit untouched.
    assert (created["currency"], created["total"], created["applied_balance"], created["amount_due"],
            created["status"]) == ("eur", 1190, 0, 1190, "open")
    assert balances(org, "traveller") == [{"balance": credit, "currency": "usd"}]

    token = org.http.post("/v1/customer-sessions/", json={"external_customer_id": "traveller"}).json()["token"]
    me = httpx.get(f"{api_url}/v1/customer-portal/customers/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["balances"] == [{"balance": credit, "currency": "usd"}]
    with httpx.Client(base_url=api_url) as browser:
        browser.get("/portal", params={"customer_session_token": token})  # sets the session cookie
        page = browser.get("/portal")
    assert page.status_code == 200
    assert 'data-field="credit-balance" data-currency="usd">Credit balance: <strong>' in page.text
    assert f"{credit // 100}.{credit % 100:02d}" in page.text.split('data-field="credit-balance"')[1]


def due_close(org, customer: str) -> tuple[dict, datetime, int]:
    """A subscription whose month is over, for a customer holding credit from a downgrade."""
    sub, _, credit = downgrade_to_credit(org, customer)
    return sub, parse_iso(sub["current_period_end"]) + timedelta(hours=2), credit


def test_a_crash_after_the_close_wrote_then_a_retry_moves_the_credit_once(org, monkeypatch) -> None:
    from functions.billing.closing import close_subscription
    from functions.store import billing as store

    sub, as_of, credit = due_close(org, "crashing")
    real_write = store.write_invoice
    written: list = []

    def write_then_crash(write):
        outcome = real_write(write)
        written.append((write, outcome))
        raise RuntimeError("the Lambda died after its transaction committed")

    monkeypatch.setattr(store, "write_invoice", write_then_crash)
    with pytest.raises(RuntimeError):
        close_subscription(org.id, sub["id"], as_of, clock=lambda: as_of)
    monkeypatch.setattr(store, "write_invoice", real_write)
    [(write, outcome)] = written
    assert outcome.committed and write.balance is not None
    # The same transaction again (a retried request), then the whole close again (the next run).
    assert real_write(write).already_done
    assert close_subscription(org.id, sub["id"], as_of, clock=lambda: as_of).written is False
    [cycle] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"]
    assert (cycle["applied_balance"], cycle["amount_due"]) == (-1785, 0)
    assert balances(org, "crashing") == [{"balance": credit - 1785, "currency": "usd"}]  # moved once


def test_credit_that_moved_between_the_read_and_the_write_is_read_again(org, monkeypatch) -> None:
    from functions.billing.closing import close_subscription
    from functions.store import billing as store
    from functions.store import dynamo
    from functions.store.keys import customer_sk, key, org_pk

    sub, as_of, _ = due_close(org, "raced")
    customer_id = sub["customer_id"]
    real_write = store.write_invoice
    attempts: list = []

    def another_invoice_first(write):
        if not attempts:  # another invoice of the customer commits in between: its credit is now 10,000c
            dynamo.call("update_item", TableName=dynamo.table_name(), Key=key(org_pk(org.id), customer_sk(customer_id)),
                        UpdateExpression="SET balance = :b ADD balance_version :one",
                        ExpressionAttributeValues={":b": {"M": {"usd": {"N": "10000"}}}, ":one": {"N": "1"}})
        outcome = real_write(write)
        attempts.append(outcome)
        return outcome

    monkeypatch.setattr(store, "write_invoice", another_invoice_first)
    assert close_subscription(org.id, sub["id"], as_of, clock=lambda: as_of).written
    assert [(o.committed, o.balance_moved) for o in attempts] == [(False, True), (True, False)]
    # Paid from the credit as it is now: 10,000 - 1,785 = 8,215c (the stale read would have written 2,380c).
    assert balances(org, "raced") == [{"balance": 8215, "currency": "usd"}]


def test_a_customer_update_never_writes_an_old_balance_back(org, monkeypatch) -> None:
    from functions.billing.closing import close_subscription
    from functions.customers import service as customers
    from functions.customers.service import CustomerRef
    from functions.store import customers as customer_store

    sub, as_of, credit = due_close(org, "edited")
    real_replace = customer_store.replace
    tries: list[int] = []

    def close_in_between(org_id, before, after):
        if not tries:  # the close moves the credit after the update read the customer
            assert close_subscription(org.id, sub["id"], as_of, clock=lambda: as_of).written
        tries.append(before.balance_version)
        real_replace(org_id, before, after)

    monkeypatch.setattr(customer_store, "replace", close_in_between)
    updated = customers.update(org.id, CustomerRef(external_customer_id="edited"), {"name": "Edited"})
    assert tries == [1, 2]  # refused with the balance it read, written after reading the new one
    assert updated.name == "Edited" and org.http.get("/v1/customers/external/edited").json()["name"] == "Edited"
    assert balances(org, "edited") == [{"balance": credit - 1785, "currency": "usd"}]


def test_a_downgrade_carried_to_the_close_makes_a_credit_close(org) -> None:
    org.http.post("/v1/tax-rates/", json={"name": "DE VAT", "country": "DE", "basis_points": 1900})
    big, smaller = (org.http.post("/v1/products/", json={"name": name, "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": fee}]}).json() for name, fee in (("Big", 5000), ("Small", 1500)))
    sub = subscribe(org, "carried", big["id"])
    changed = org.http.patch(f"/v1/subscriptions/{sub['id']}", json={"product_id": smaller["id"]})  # prorate
    assert changed.status_code == 200, changed.text
    [pending] = changed.json()["pending_lines"]
    assert -3500 <= pending["amount"] <= -3490
    assert close_cycles(parse_iso(sub["current_period_end"]) + timedelta(hours=2))["failed"] == 0
    [cycle] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"]
    # The carried credit and next month's 1,500c fee: about -2,000c, its tax given back; all of it goes to the
    # balance, nothing is due.
    subtotal = pending["amount"] + 1500
    total = subtotal + vat_of_credit(subtotal)
    assert (cycle["subtotal"], cycle["total"], cycle["applied_balance"], cycle["amount_due"], cycle["status"]) == (
        subtotal, total, -total, 0, "paid")
    assert balances(org, "carried") == [{"balance": -total, "currency": "usd"}]
    # A new subscription's first invoice is paid from the credit too: 1,785c of the ~2,380c.
    assert org.http.delete(f"/v1/subscriptions/{sub['id']}").status_code == 200
    again = org.http.post("/v1/subscriptions/", json={"external_customer_id": "carried", "product_id": smaller["id"]})
    assert again.status_code == 201, again.text
    [created] = invoices(org, again.json()["id"])
    assert (created["total"], created["applied_balance"], created["amount_due"], created["status"]) == (
        1785, -1785, 0, "paid")
    assert balances(org, "carried") == [{"balance": -total - 1785, "currency": "usd"}]


def test_a_first_invoice_whose_credit_moved_meanwhile_is_built_again(org, monkeypatch) -> None:
    from functions.billing.schemas import SubscriptionCreate
    from functions.billing.subscriptions import create_subscription
    from functions.store import billing as store
    from functions.store import dynamo
    from functions.store.keys import customer_sk, key, org_pk

    sub, _, _ = downgrade_to_credit(org, "resubscriber")
    assert org.http.delete(f"/v1/subscriptions/{sub['id']}").status_code == 200
    small = org.http.get(f"/v1/subscriptions/{sub['id']}").json()["product_id"]
    real_write = store.write_invoice
    attempts: list = []

    def another_invoice_first(write):
        if not attempts:  # the credit becomes 1,000c between the read and the write
            dynamo.call("update_item", TableName=dynamo.table_name(),
                        Key=key(org_pk(org.id), customer_sk(sub["customer_id"])),
                        UpdateExpression="SET balance = :b ADD balance_version :one",
                        ExpressionAttributeValues={":b": {"M": {"usd": {"N": "1000"}}}, ":one": {"N": "1"}})
        attempts.append(real_write(write))
        return attempts[-1]

    monkeypatch.setattr(store, "write_invoice", another_invoice_first)
    created = create_subscription(org.id, SubscriptionCreate(external_customer_id="resubscriber", product_id=small),
                                  publish=lambda invoice: None)
    assert [o.balance_moved for o in attempts] == [True, False]
    [first] = invoices(org, created.id)
    # 1,785c, of which the 1,000c there is now: 785c due, the balance empty.
    assert (first["applied_balance"], first["amount_due"], first["status"]) == (-1000, 785, "open")
    assert balances(org, "resubscriber") == []


def test_the_rates_of_a_country_and_its_state_stack_on_the_invoice_and_its_pdf(org, plan) -> None:
    # British Columbia: GST 5% (Canada) + PST 7% (BC) on the 2,000c plan: 100c + 140c, total 2,240c. A customer
    # elsewhere in Canada pays GST alone (100c, total 2,100c).
    gst = org.http.post("/v1/tax-rates/", json={"name": "GST", "country": "CA", "basis_points": 500}).json()
    pst = org.http.post("/v1/tax-rates/", json={"name": "PST", "country": "CA", "state": "BC",
                                                "basis_points": 700}).json()
    def subscribe_in(customer: str, state: str) -> dict:
        org.http.post("/v1/customers/", json={"email": f"{customer}@example.com", "external_id": customer,
                                              "billing_address": {"country": "CA", "state": state}})
        response = org.http.post("/v1/subscriptions/", json={"external_customer_id": customer,
                                                             "product_id": plan["product"]["id"]})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    bc, on = subscribe_in("vancouver", "BC"), subscribe_in("toronto", "ON")
    first = invoices(org, bc["id"])[0]
    assert [(t["id"], t["name"], t["basis_points"], t["amount"]) for t in first["taxes"]] == [
        (gst["id"], "GST", 500, 100), (pst["id"], "PST", 700, 140)]
    assert (first["tax_amount"], first["total"]) == (240, 2240)
    ontario = invoices(org, on["id"])[0]
    assert ([t["id"] for t in ontario["taxes"]], ontario["tax_amount"], ontario["total"]) == ([gst["id"]], 100, 2100)
    pdf = org.http.get(f"/v1/invoices/{first['id']}/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Tax GST 5%" in text and "1.00 USD" in text and "Tax PST 7%" in text and "1.40 USD" in text


def test_a_customers_payment_terms_and_the_lines_pricing_reach_the_invoice(org, plan) -> None:
    sub = subscribe(org, "net7", plan["product"]["id"], customer_fields={"payment_terms_days": 7})
    assert org.http.get("/v1/customers/external/net7").json()["payment_terms_days"] == 7
    [first] = invoices(org, sub["id"])
    issued, due = parse_iso(first["created_at"]), parse_iso(first["due_at"])
    assert due - issued == timedelta(days=7)
    assert [(line["kind"], line["unit_amount"], line["quantity"]) for line in first["lines"]] == [
        ("fixed", "2000", "1")]
    # 1,300 units, 100 credited: 1,000 at 2c + 200 at 1c = 2,200c, the tiers on the preview's line.
    ingest(org, "net7", [1300], "t")
    preview = org.http.get(f"/v1/subscriptions/{sub['id']}/upcoming-invoice").json()
    [metered] = [line for line in preview["lines"] if line["kind"] == "metered"]
    assert [(t["first_unit"], t["last_unit"], t["units"], t["unit_amount"]) for t in metered["tiers"]] == [
        (1, 1000, "1000", "2"), (1001, None, "200", "1")]
    assert metered["amount"] == 2200
    cleared = org.http.patch("/v1/customers/external/net7", json={"payment_terms_days": None}).json()
    assert cleared["payment_terms_days"] is None
    bad = org.http.patch("/v1/customers/external/net7", json={"payment_terms_days": 400})
    assert bad.status_code == 422 and "payment_terms_days" in bad.text


def _product(org, name: str, interval: str, count: int, fee: int) -> str:
    made = org.http.post("/v1/products/", json={"name": name, "recurring_interval": interval,
                                                 "recurring_interval_count": count,
                                                 "prices": [{"amount_type": "fixed", "price_amount": fee}]})
    assert made.status_code == 201, made.text
    return made.json()["id"]  # type: ignore[no-any-return]


def _closed_periods(org, sub: dict, closes: int) -> list[tuple[str, str]]:
    """Close the subscription's period `closes` times, each as of its end plus an hour; the periods it ran."""
    from functions.billing.closing import close_subscription

    periods = [(sub["current_period_start"], sub["current_period_end"])]
    for _ in range(closes):
        as_of = parse_iso(periods[-1][1]) + timedelta(hours=1)
        assert close_subscription(org.id, sub["id"], as_of, clock=lambda as_of=as_of: as_of).written
        now = org.http.get(f"/v1/subscriptions/{sub['id']}").json()
        periods.append((now["current_period_start"], now["current_period_end"]))
    return periods


def _months_later(moment: datetime, months: int) -> datetime:
    """The same day `months` later (or earlier), clamped to the month's last day: worked out here, not by the code."""
    import calendar

    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def test_a_month_end_billing_cycle_anchor_prorates_the_first_period_and_keeps_the_day(org) -> None:
    from fractions import Fraction

    from tests.billing_oracle import round_half_up

    product_id = _product(org, "Month-end", "month", 1, 3100)
    now = datetime.now(UTC)
    # The next 31st within a month if there is one (Dec 31 from early December: Jan 31, Feb 28, Mar 31), else the
    # current month's last day.
    candidates = [datetime(now.year + (now.month + k > 12), (now.month + k - 1) % 12 + 1, 31, tzinfo=UTC)
                  for k in (0, 1) if (now.month + k - 1) % 12 + 1 in (1, 3, 5, 7, 8, 10, 12)]
    anchor = next((c for c in candidates if now < c <= _months_later(now, 1)),
                  _months_later(datetime(now.year, now.month, 1, tzinfo=UTC), 1) - timedelta(days=1))
    if anchor <= now:  # the last day itself, late in the day
        anchor = _months_later(anchor, 1)
    sub = subscribe(org, "monthend", product_id, billing_cycle_anchor=iso(anchor))
    assert (sub["billing_anchor"], sub["current_period_end"], sub["cycle"]) == (iso(anchor), iso(anchor), -1)
    # The fee of the month before the anchor, for the part of it left when the subscription started.
    started = parse_iso(sub["started_at"])
    left, month = anchor - started, anchor - _months_later(anchor, -1)
    exact = Fraction(3100) * Fraction(left // timedelta(microseconds=1), month // timedelta(microseconds=1))
    [first] = invoices(org, sub["id"])
    assert first["subtotal"] == round_half_up(exact) and "prorated" in first["lines"][0]["description"]
    periods = _closed_periods(org, sub, 3)
    assert [parse_iso(end) for _, end in periods] == [_months_later(anchor, n) for n in range(4)]
    fees = [i["subtotal"] for i in sorted(invoices(org, sub["id"]), key=lambda i: i["number"])]
    assert fees[1:] == [3100, 3100, 3100]  # every cycle from the anchor bills the whole fee


def test_a_leap_day_anchor_runs_to_february_28_in_common_years_and_back_to_the_29th(org) -> None:
    now = datetime.now(UTC)
    leap = next(y for y in range(now.year, now.year + 5) if y % 4 == 0 and datetime(y, 2, 29, tzinfo=UTC) > now)
    anchor = datetime(leap, 2, 29, tzinfo=UTC)
    # Every two years when the leap day is within two years (28th, then the 29th again), else every four.
    years = 2 if anchor <= _months_later(now, 24) else 4
    sub = subscribe(org, "leapday", _product(org, "Leap", "year", years, 10_000), billing_cycle_anchor=iso(anchor))
    ends = [parse_iso(end).date() for _, end in _closed_periods(org, sub, 2)]
    day = 28 if years == 2 else 29
    assert ends == [anchor.date(), datetime(leap + years, 2, day).date(), datetime(leap + 2 * years, 2, 29).date()]


def test_a_billing_cycle_anchor_in_the_past_or_beyond_one_cycle_is_refused(org) -> None:
    product_id = _product(org, "Monthly", "month", 1, 1000)
    org.http.post("/v1/customers/", json={"email": "anchor@example.com", "external_id": "anchor"})
    now = datetime.now(UTC)
    for anchor in (now - timedelta(minutes=1), now + timedelta(days=40)):
        refused = org.http.post("/v1/subscriptions/", json={"external_customer_id": "anchor", "product_id": product_id,
                                                             "billing_cycle_anchor": iso(anchor)})
        assert refused.status_code == 422 and "billing_cycle_anchor" in refused.text, refused.text
    assert org.http.get("/v1/subscriptions/", params={"customer_id": "x"}).json()["items"] == []
