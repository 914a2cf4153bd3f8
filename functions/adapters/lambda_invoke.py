"""The Lambda adapter: hand an event to a fresh asynchronous invocation of a function."""

from __future__ import annotations

import json
from typing import Any

import boto3


def invoke_async(function_arn: str, event: dict[str, Any]) -> None:
    boto3.client("lambda").invoke(FunctionName=function_arn, InvocationType="Event",
                                  Payload=json.dumps(event).encode())
