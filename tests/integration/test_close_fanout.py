"""The cycle close fanned out on SQS, end to end through the local runtime: the scheduled run queues what is due,
the close workers close it, the invoice publisher renders and announces; duplicates close once, and an invoice
whose queueing was lost is queued again by a later run's sweep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from functions.common.clock import iso, parse_iso
from functions.store.keys import invoice_sk, org_pk
from tests.integration.test_billing import close_cycles, invoices, subscribe


def _cycle_invoices(org, subscription_id: str) -> list[dict]:
    return [i for i in invoices(org, subscription_id) if i["billing_reason"] == "subscription_cycle"]


def _completed(local_stack, handler_module: str) -> int:
    name = local_stack.function_name(handler_module)
    return sum(1 for function, _, ok in local_stack.runtime.completed if function == name and ok)


def test_the_run_queues_the_workers_close_and_the_publisher_renders(org, plan, local_stack, local_aws) -> None:
    subs = [subscribe(org, f"fan-{i}", plan["product"]["id"]) for i in range(3)]
    as_of = max(parse_iso(s["current_period_end"]) for s in subs) + timedelta(hours=2)
    workers, publishers = _completed(local_stack, "close_worker"), _completed(local_stack, "invoice_publisher")
    result = close_cycles(as_of)
    assert result["queued"] >= 3 and result["failed"] == 0
    assert _completed(local_stack, "close_worker") > workers  # the closes ran in the worker, not in the run
    assert _completed(local_stack, "invoice_publisher") > publishers
    s3 = local_aws.client("s3")
    for sub in subs:
        (invoice,) = _cycle_invoices(org, sub["id"])
        stored = org.http.get(f"/v1/invoices/{invoice['id']}").json()
        pdf = s3.get_object(Bucket=local_aws.invoice_bucket, Key=stored["artifacts"]["pdf"])["Body"].read()
        assert pdf.startswith(b"%PDF")


def test_a_subscription_queued_twice_closes_once(org, plan, local_stack, local_aws) -> None:
    sub = subscribe(org, "twice", plan["product"]["id"])
    as_of = parse_iso(sub["current_period_end"]) + timedelta(hours=2)
    close_url = next(local_aws.queue_url(m.queue) for m in local_stack.stack.queue_mappings
                     if m.function == local_stack.function_name("close_worker"))
    message = {"organization_id": org.id, "subscription_id": sub["id"], "customer_id": sub["customer_id"],
               "as_of": iso(as_of)}
    # The same subscription queued by overlapping runs (other deduplication ids: SQS keeps every copy).
    local_aws.client("sqs").send_message_batch(QueueUrl=close_url, Entries=[
        {"Id": str(i), "MessageBody": json.dumps(message), "MessageGroupId": org.id,
         "MessageDeduplicationId": f"copy-{i}"} for i in range(3)])
    assert close_cycles(as_of)["failed"] == 0
    assert len(_cycle_invoices(org, sub["id"])) == 1


def test_an_invoice_whose_queueing_was_lost_is_queued_again_by_a_later_run(org, plan, local_stack, local_aws,
                                                                          edge_hooks) -> None:
    sub = subscribe(org, "lost-queue", plan["product"]["id"])
    as_of = parse_iso(sub["current_period_end"]) + timedelta(hours=2)
    worker_role = local_stack.stack.functions[local_stack.function_name("close_worker")].role

    def publish_queue_down(when: str, principal: str, service: str, operation: str):
        if when == "before" and principal == worker_role and operation == "SendMessageBatch":
            return 500, {"Content-Type": "application/x-amz-json-1.0"}, b'{"__type": "InternalError"}'
        return None

    edge_hooks.append(publish_queue_down)
    try:
        assert close_cycles(as_of)["failed"] == 0  # the close itself stands: nothing is retried
    finally:
        edge_hooks.remove(publish_queue_down)
    (invoice,) = _cycle_invoices(org, sub["id"])
    assert not org.http.get(f"/v1/invoices/{invoice['id']}").json().get("artifacts")
    # A run soon after leaves it: it may still be waiting in the queue.
    close_cycles(datetime.now(UTC))
    assert not org.http.get(f"/v1/invoices/{invoice['id']}").json().get("artifacts")
    # Once it has waited longer than a publication takes, the sweep queues it again and the publisher renders it.
    local_aws.client("dynamodb").update_item(
        TableName=local_aws.table_name, Key={"PK": {"S": org_pk(org.id)}, "SK": {"S": invoice_sk(invoice["id"])}},
        UpdateExpression="SET written_at = :then",
        ExpressionAttributeValues={":then": {"S": iso(datetime.now(UTC) - timedelta(hours=1))}})
    result = close_cycles(datetime.now(UTC))
    assert result["invoices_requeued"] >= 1 and result["failed"] == 0
    assert org.http.get(f"/v1/invoices/{invoice['id']}").json()["artifacts"]["pdf"].endswith(".pdf")
