"""moto_sqs changes what moto's SQS costs, never what it answers."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models

from local_stack import moto_sqs


@pytest.fixture()
def sqs():
    moto_sqs.apply()
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


def _queue(name: str) -> models.Queue:
    return models.sqs_backends["123456789012"]["us-east-1"].get_queue(name)


def test_the_attributes_are_moto_s_own_counts_included(sqs) -> None:
    dlq = sqs.create_queue(QueueName="dead.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    url = sqs.create_queue(QueueName="work.fifo", Attributes={
        "FifoQueue": "true", "VisibilityTimeout": "720", "RedrivePolicy": json.dumps({
            "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dead.fifo", "maxReceiveCount": 3})})["QueueUrl"]
    assert dlq
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": "x", "MessageGroupId": f"g{i % 3}", "MessageDeduplicationId": f"d{i}"}
        for i in range(7)])
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)  # two in flight, five visible

    queue = _queue("work.fifo")
    fast = dict(queue.attributes)
    assert isinstance(queue.attributes, moto_sqs.QueueAttributes)
    assert fast == moto_sqs._moto_attributes(queue)
    assert (fast["ApproximateNumberOfMessages"], fast["ApproximateNumberOfMessagesNotVisible"]) == (5, 2)
    answered = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (answered["ApproximateNumberOfMessages"], answered["ApproximateNumberOfMessagesNotVisible"]) == ("5", "2")
    assert answered["FifoQueue"] == "true" and json.loads(answered["RedrivePolicy"])["maxReceiveCount"] == 3


def test_a_fifo_send_is_still_validated_and_deduplicated(sqs) -> None:
    url = sqs.create_queue(QueueName="work.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="same")
    assert _queue("work.fifo").approximate_number_of_messages == 1
    with pytest.raises(sqs.exceptions.ClientError, match="MessageDeduplicationId"):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")  # no id, no content deduplication


def test_the_clock_is_moto_s_clock() -> None:
    moto_sqs.apply()
    assert abs(models.unix_time_millis() - moto_sqs._moto_unix_time_millis()) < 50
    # An explicit instant still goes through moto's arithmetic.
    from datetime import datetime
    instant = datetime(2027, 1, 1)
    assert models.unix_time_millis(instant) == moto_sqs._moto_unix_time_millis(instant) == 1798761600000.0


def _fill(sqs, url: str, count: int, label: str) -> None:
    for start in range(0, count, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"{label} {start + i}"} for i in range(10)])


def test_concurrent_deletes_and_sends_lose_nothing_and_resurrect_nothing() -> None:
    """Through moto's threaded server, as the local stack runs it: 8 pollers delete what they received while a
    sender adds more. Every delete stays done and every send stays queued, as in SQS."""
    from concurrent.futures import ThreadPoolExecutor

    from local_stack.aws import start_moto

    server, endpoint = start_moto()
    try:
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="a",
                           aws_secret_access_key="b")
        url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
        _fill(sqs, url, 2000, "first")
        received = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            received.append(batch)
        assert sum(map(len, received)) == 2000

        def delete(batch: list[dict]) -> None:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])

        with ThreadPoolExecutor(9) as pool:
            sending = pool.submit(_fill, sqs, url, 500, "second")
            list(pool.map(delete, received))
            sending.result()
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (counts["ApproximateNumberOfMessagesNotVisible"], counts["ApproximateNumberOfMessages"]) == ("0", "500")
    finally:
        server.stop()
