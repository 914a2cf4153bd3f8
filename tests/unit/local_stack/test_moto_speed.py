"""moto_speed changes what moto's SQS costs, never what it answers."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models

from local_stack import moto_speed


@pytest.fixture()
def sqs():
    moto_speed.apply()
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
    assert isinstance(queue.attributes, moto_speed.QueueAttributes)
    assert fast == moto_speed._moto_attributes(queue)
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
    moto_speed.apply()
    assert abs(models.unix_time_millis() - moto_speed._moto_unix_time_millis()) < 50
    # An explicit instant still goes through moto's arithmetic.
    from datetime import datetime
    instant = datetime(2027, 1, 1)
    assert models.unix_time_millis(instant) == moto_speed._moto_unix_time_millis(instant) == 1798761600000.0
