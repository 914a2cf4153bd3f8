"""The quota signal: each threshold announces itself once per period, under concurrency and retries."""

from __future__ import annotations

import json
import threading

import boto3


def capture(local_aws, name: str, detail_type: str):
    sqs = boto3.client("sqs", endpoint_url=local_aws.endpoint)
    events = boto3.client("events", endpoint_url=local_aws.endpoint)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=local_aws.event_bus,
                    EventPattern=json.dumps({"source": ["meterbill"], "detail-type": [detail_type]}))
    events.put_targets(Rule=name, EventBusName=local_aws.event_bus, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict]:
        found = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"])["detail"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


def test_thresholds_fire_once_under_concurrent_ingests_and_retries(org, local_aws) -> None:
    drain = capture(local_aws, f"thr-{org.id[:8]}", "customer_meter.threshold_crossed")
    meter = org.http.post("/v1/meters/", json={
        "name": "Requests", "filter": {"conjunction": "and", "clauses": []}, "aggregation": {"func": "count"},
        "thresholds": [{"id": "fifty", "type": "units", "value": 50}, {"id": "hundred", "type": "units",
                                                                       "value": 100}]}).json()
    batches = [[{"name": "r", "external_customer_id": "busy", "external_id": f"{k}-{i}"} for i in range(10)]
               for k in range(12)]

    def send(batch: list[dict]) -> None:
        for _ in range(2):  # every batch is retried once
            assert org.http.post("/v1/events/ingest", json={"events": batch}).status_code == 200

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    signals = [s for s in drain() if s["meter_id"] == meter["id"]]
    assert sorted(s["threshold_id"] for s in signals) == ["fifty", "hundred"]
    assert all(int(s["consumed_units"]) >= s["threshold"]["value"] for s in signals)
    state = org.http.get("/v1/customers/external/busy/state").json()
    assert state["active_meters"][0]["consumed_units"] == 120
    assert sorted(c["threshold_id"] for c in state["crossed_thresholds"]) == ["fifty", "hundred"]
    # More usage in the same period announces nothing again.
    org.http.post("/v1/events/ingest", json={"events": [{"name": "r", "external_customer_id": "busy"}]})
    assert [s for s in drain() if s["meter_id"] == meter["id"]] == []


def test_balance_below_zero_and_credit_percentage(org, local_aws) -> None:
    drain = capture(local_aws, f"bal-{org.id[:8]}", "customer_meter.threshold_crossed")
    meter = org.http.post("/v1/meters/", json={
        "name": "Tokens", "filter": {"conjunction": "and", "clauses": []},
        "aggregation": {"func": "sum", "property": "t"},
        "thresholds": [{"id": "eighty", "type": "credits_percent", "value": 80},
                       {"id": "negative", "type": "balance_below_zero"}]}).json()
    product = org.http.post("/v1/products/", json={"name": "Starter", "recurring_interval": "month", "prices": [
        {"amount_type": "metered_unit", "meter_id": meter["id"], "unit_amount": "1", "credited_units": 1000}]}).json()
    org.http.post("/v1/customers/", json={"email": "b@example.com", "external_id": "budget"})
    org.http.post("/v1/subscriptions/", json={"external_customer_id": "budget", "product_id": product["id"]})
    org.http.post("/v1/events/ingest", json={"events": [{"name": "x", "external_customer_id": "budget",
                                                         "metadata": {"t": 700}}]})
    assert drain() == []
    org.http.post("/v1/events/ingest", json={"events": [{"name": "x", "external_customer_id": "budget",
                                                         "metadata": {"t": 150}}]})
    assert [s["threshold_id"] for s in drain()] == ["eighty"]
    org.http.post("/v1/events/ingest", json={"events": [{"name": "x", "external_customer_id": "budget",
                                                         "metadata": {"t": 200}}]})
    crossed = drain()
    assert [s["threshold_id"] for s in crossed] == ["negative"] and crossed[0]["balance"] == "-50"
    # Nothing was blocked: all usage counted.
    state = org.http.get("/v1/customers/external/budget/state").json()["active_meters"][0]
    assert (state["consumed_units"], state["credited_units"], state["balance"]) == (1050, 1000, -50)


def test_a_crossing_whose_announcement_was_lost_is_published_by_the_next_close_run(org, local_aws, local_stack,
                                                                                  edge_hooks) -> None:
    from functions.thresholds import service

    drain = capture(local_aws, f"lost-{org.id[:8]}", "customer_meter.threshold_crossed")
    org.http.post("/v1/meters/", json={"name": "n", "filter": {"conjunction": "and", "clauses": []},
                                       "aggregation": {"func": "count"},
                                       "thresholds": [{"id": "one", "type": "units", "value": 1}]})
    ingest_role = local_stack.stack.functions[local_stack.function_name("ingest")].role

    def eventbridge_down(when: str, principal: str, service_name: str, operation: str):
        if when == "before" and principal == ingest_role and operation == "PutEvents":
            return 500, {"Content-Type": "application/x-amz-json-1.1"}, b'{"__type": "InternalException"}'
        return None

    edge_hooks.append(eventbridge_down)  # the crossing is claimed, its announcement fails
    assert org.http.post("/v1/events/ingest", json={"events": [{"name": "x", "external_customer_id": "lost",
                                                                "external_id": "l1"}]}).status_code == 200
    edge_hooks.clear()
    assert drain() == []
    from datetime import timedelta

    assert service.publish_pending(older_than=timedelta(seconds=0)) >= 1
    assert [s["threshold_id"] for s in drain()] == ["one"]
    assert service.publish_pending(older_than=timedelta(seconds=0)) == 0
