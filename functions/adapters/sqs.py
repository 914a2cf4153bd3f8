"""The SQS adapter: put a message on a queue, and put off a message's next delivery."""

from __future__ import annotations

import json
from typing import Any

from functions.common import aws_clients


def send(queue_url: str, body: dict[str, Any]) -> None:
    aws_clients.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))


def delay(queue_url: str, receipt_handle: str, seconds: int) -> None:
    """The message comes back after `seconds` (it stays on the queue; its receive count says how often)."""
    aws_clients.client("sqs").change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle,
                                                        VisibilityTimeout=seconds)
