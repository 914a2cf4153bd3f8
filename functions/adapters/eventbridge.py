"""The EventBridge adapter: announce domain events on the Meterbill bus."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from functions.common import aws_clients

SOURCE = "meterbill"


@cache
def client() -> Any:
    return aws_clients.client("events")


def publish(bus: str, detail_type: str, details: list[dict[str, Any]]) -> None:
    """At most 10 entries per PutEvents call; a failed entry raises so the caller's retry covers it."""
    for start in range(0, len(details), 10):
        entries = [
            {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(d, default=str), "EventBusName": bus}
            for d in details[start : start + 10]
        ]
        response = client().put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused {response['FailedEntryCount']} {detail_type} event(s)")
