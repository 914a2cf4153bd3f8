"""The SQS adapter: put messages on a queue, and put off a message's next delivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from functions.common import aws_clients


def send(queue_url: str, body: dict[str, Any]) -> None:
    aws_clients.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))


def send_batch(queue_url: str, bodies: list[dict[str, Any]],
               fifo_ids: Callable[[dict[str, Any]], tuple[str, str]] | None = None) -> None:
    """10 messages per SendMessageBatch; an entry SQS refused raises, so the caller's retry covers it. For a FIFO
    queue, `fifo_ids(body)` gives each message's group and deduplication ids."""
    for start in range(0, len(bodies), 10):
        entries = []
        for i, body in enumerate(bodies[start : start + 10]):
            entry = {"Id": str(i), "MessageBody": json.dumps(body)}
            if fifo_ids:
                entry["MessageGroupId"], entry["MessageDeduplicationId"] = fifo_ids(body)
            entries.append(entry)
        failed = aws_clients.client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} message(s): {failed[0].get('Message', '')}")


def delay(queue_url: str, receipt_handle: str, seconds: int) -> None:
    """The message comes back after `seconds` (it stays on the queue; its receive count says how often)."""
    aws_clients.client("sqs").change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle,
                                                        VisibilityTimeout=seconds)
