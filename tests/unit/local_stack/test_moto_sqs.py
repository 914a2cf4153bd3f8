"""moto_sqs changes what moto's SQS costs, never what it answers."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from moto.sqs import models

from local_stack import moto_sqs
from local_stack.aws import start_moto

# moto keeps its state per process: a local stack may be running in this test process (an xdist worker runs
# every kind of test), in us-east-1. These tests use a region of their own, with queue names of their own, and
# never reset moto (mock_aws would wipe the local stack's queues).
REGION = "ap-southeast-2"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def endpoint():
    server, endpoint = start_moto()  # applies moto_sqs, as the local stack does
    yield endpoint
    server.stop()


@pytest.fixture()
def sqs(endpoint):
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="a",
                        aws_secret_access_key="b")


def _name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def _queue(url: str) -> models.Queue:
    return models.sqs_backends[ACCOUNT][REGION].get_queue(url.rsplit("/", 1)[1])


def test_the_attributes_are_moto_s_own_counts_included(sqs) -> None:
    dead = _name("dead") + ".fifo"
    sqs.create_queue(QueueName=dead, Attributes={"FifoQueue": "true"})
    url = sqs.create_queue(QueueName=_name("work") + ".fifo", Attributes={
        "FifoQueue": "true", "VisibilityTimeout": "720", "RedrivePolicy": json.dumps({
            "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead}", "maxReceiveCount": 3})})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": "x", "MessageGroupId": f"g{i % 3}", "MessageDeduplicationId": f"d{i}"}
        for i in range(7)])
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)  # two in flight, five visible

    queue = _queue(url)
    fast = dict(queue.attributes)
    assert isinstance(queue.attributes, moto_sqs.QueueAttributes)
    assert fast == moto_sqs._moto_attributes(queue)
    assert (fast["ApproximateNumberOfMessages"], fast["ApproximateNumberOfMessagesNotVisible"]) == (5, 2)
    answered = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (answered["ApproximateNumberOfMessages"], answered["ApproximateNumberOfMessagesNotVisible"]) == ("5", "2")
    assert answered["FifoQueue"] == "true" and json.loads(answered["RedrivePolicy"])["maxReceiveCount"] == 3


def test_a_fifo_send_is_still_validated_and_deduplicated(sqs) -> None:
    url = sqs.create_queue(QueueName=_name("work") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="same")
    assert _queue(url).approximate_number_of_messages == 1
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


def test_concurrent_deletes_and_sends_lose_nothing_and_resurrect_nothing(sqs) -> None:
    """Through moto's threaded server, as the local stack runs it: 8 pollers delete what they received while a
    sender adds more. Every delete stays done and every send stays queued, as in SQS."""
    from concurrent.futures import ThreadPoolExecutor

    url = sqs.create_queue(QueueName=_name("work"), Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
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
