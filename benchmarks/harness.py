"""Shared benchmark plumbing: local AWS from the template (DynamoDB Local, moto, the edge), the real handlers
called in this process so that their CPU can be measured apart from DynamoDB, and request accounting."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.store.table_spec import GSI2
from local_stack import template
from local_stack.aws import LocalAws
from local_stack.gateway import api_gateway_event


@contextmanager
def local_aws() -> Iterator[LocalAws]:
    """Local AWS in memory, exported to this process as its operator (the benchmarks' entry point)."""
    aws = LocalAws(template.load()).start()
    aws.export()
    # The handlers called in this process emit metrics, which need the namespace their Lambdas are given.
    namespaces = {spec.environment.get("POWERTOOLS_METRICS_NAMESPACE") for spec in aws.stack.functions.values()}
    os.environ["POWERTOOLS_METRICS_NAMESPACE"] = next(n for n in namespaces if n)
    try:
        yield aws
    finally:
        aws.stop()


class BenchContext:
    """A Lambda context for handlers called in this process."""

    def __init__(self, function_name: str = "bench", timeout_seconds: float = 900) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:{template.REGION}:{template.ACCOUNT}:function:{function_name}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

_REAL_CLIENT: Any = None  # the store's client before any timer wrapped it


class StoreTimer:
    """Wraps the DynamoDB client: counts requests and the thread CPU and wall time spent inside botocore."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0
        self.requests: dict[str, int] = {}
        self.write_units = 0
        self.read_units = 0.0

    def count_read_units(self, name: str, kwargs: dict[str, Any], response: dict[str, Any]) -> None:
        """Read units by DynamoDB's rule for a query: the items read, summed, 1 per 4 KB started (half of it
        eventually consistent). DynamoDB Local reports none for a query."""
        if name == "query":
            size = sum(item_size(item) for item in response.get("Items", []))
            self.read_units += max(1, -(-size // 4096)) * (1 if kwargs.get("ConsistentRead") else 0.5)

    def count_units(self, name: str, kwargs: dict[str, Any]) -> None:
        """Write units by DynamoDB's published rule: 1 per KB written, 2 per KB inside a transaction, and 1 per
        KB of the entry for each index the item is in (GSI2, projecting ALL: the event items; an index is
        updated after the transaction, not in it). DynamoDB Local reports no transactional capacity, so the
        harness computes it."""
        if name == "transact_write_items":
            for action in kwargs["TransactItems"]:
                (kind, body), = action.items()
                size = item_size(body["Item"]) if kind == "Put" else AGGREGATE_ITEM_BYTES
                self.write_units += 2 * -(-size // 1024)
                if kind == "Put" and GSI2["partition_key"] in body["Item"]:
                    self.write_units += -(-size // 1024)
        elif name in ("put_item", "update_item", "delete_item"):
            self.write_units += -(-item_size(kwargs.get("Item", {})) // 1024) or 1

    def install(self) -> None:
        from functions.store import dynamo

        global _REAL_CLIENT
        if _REAL_CLIENT is None:
            _REAL_CLIENT = dynamo.client()
        real_client = _REAL_CLIENT
        timer = self

        class Proxy:
            def __getattr__(self, name: str) -> Any:
                method = getattr(real_client, name)

                def timed(*args: Any, **kwargs: Any) -> Any:
                    cpu, wall = time.thread_time(), time.perf_counter()
                    try:
                        # The harness's own accounting, inside the excluded time: sizing every item of a
                        # 1,000-event request cost about 30 us an event, which was counted as the handler's.
                        timer.count_units(name, kwargs)
                        response = method(*args, **kwargs)
                        timer.count_read_units(name, kwargs, response)
                        return response
                    finally:
                        timer.cpu += time.thread_time() - cpu
                        timer.wall += time.perf_counter() - wall
                        timer.requests[name] = timer.requests.get(name, 0) + 1

                return timed

        proxy = Proxy()
        dynamo.client = lambda: proxy  # type: ignore[assignment]

    def reset(self) -> None:
        self.cpu = self.wall = 0.0
        self.requests.clear()
        self.write_units = 0
        self.read_units = 0.0


# An aggregate item (keys, meter id, period, version, count, sum, min/max/last) stays well under 1 KB.
AGGREGATE_ITEM_BYTES = 300


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers about digits/2 + 1)."""
    return sum(len(k.encode()) + _value_size(v) for k, v in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return len(v.lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(_value_size(x) + 1 for x in v)
    return 0


def request_event(method: str, path: str, token: str, body: Any | None = None) -> dict:
    """The API Gateway event a request becomes (built outside any timed region)."""
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return api_gateway_event(method, path, headers, raw, f"{method} {path}")


def call_handler(handler: Any, method: str, path: str, token: str, body: Any | None = None) -> dict:
    return invoke(handler, request_event(method, path, token, body))


def invoke(handler: Any, event: dict) -> dict:
    return handler(event, BenchContext())  # type: ignore[no-any-return]


def detach_bus_targets() -> None:
    """Take the targets off every rule of local AWS's buses. In AWS the webhook delivery Lambda consumes what the
    bus sends to its queue; the benchmarks configure no webhook endpoint, so what would be queued is work no
    one asked for, competing for the 2 cores with what is measured. (Before local_stack/moto_sqs.py, moto also
    scanned a queue's every message on each send: thousands left in it made each PutEvents cost hundreds of
    milliseconds.) The PutEvents calls are still made and counted."""
    import boto3

    events = boto3.client("events")
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"]).get("Rules", []):
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"]).get("Targets", [])
            if targets:
                events.remove_targets(Rule=rule["Name"], EventBusName=bus["Name"], Ids=[t["Id"] for t in targets])
