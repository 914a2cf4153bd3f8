"""The Lambda adapter: hand an event to a fresh asynchronous invocation of a function."""

from __future__ import annotations

import json
from typing import Any

from functions.common import aws_clients


def invoke_async(function_arn: str, event: dict[str, Any]) -> None:
    aws_clients.client("lambda").invoke(FunctionName=function_arn, InvocationType="Event",
                                        Payload=json.dumps(event).encode())
