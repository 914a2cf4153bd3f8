"""Ingest benchmarks (DESIGN.md section 10):

1. handler CPU per event for a 1,000-event request matched against 5 meters, DynamoDB excluded: the ingest
   Lambda handler's thread CPU time minus the CPU spent inside botocore calls;
2. write units and write requests per event for 1 KB events, one customer, 3 meters, read from the
   ConsumedCapacity DynamoDB Local returns and from the requests the store sent.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.harness import StoreTimer, call_handler, invoke, item_size, request_event
from functions.common.clock import iso


def meters_body(i: int) -> dict:
    aggregations = [{"func": "count"}, {"func": "sum", "property": "tokens"}, {"func": "max", "property": "tokens"},
                    {"func": "avg", "property": "latency"}, {"func": "unique", "property": "model"}]
    return {"name": f"m{i}", "filter": {"conjunction": "and", "clauses": [
        {"property": "name", "operator": "eq", "value": "llm"}]}, "aggregation": aggregations[i % len(aggregations)]}


def events(n: int, run: int, customer: str, padding: int = 0) -> list[dict[str, Any]]:
    base = datetime.now(UTC) - timedelta(minutes=2)
    return [
        {"name": "llm", "external_customer_id": customer, "external_id": f"r{run}-{i}",
         "timestamp": iso(base + timedelta(microseconds=i)),
         "metadata": {"tokens": i % 977, "latency": round((i % 50) / 7, 6), "model": f"model-{i % 4}",
                      **{f"pad{k}": "x" * min(400, padding - 400 * k) for k in range(-(-padding // 400))}}}
        for i in range(n)
    ]


def _phases() -> list[tuple[str, Any, str]]:
    """The steps of one ingest request (functions/events/service.py), as (label, owner, attribute): each is
    called once per request or per chunk, so timing it costs next to nothing."""
    from aws_lambda_powertools.event_handler.middlewares import openapi_validation

    from functions.events import service

    return [
        ("request body validated (Powertools + pydantic, EventCreate)", openapi_validation, "_request_body_to_args"),
        ("customers resolved", service, "resolve_customers"),
        ("meters read", service.meter_store, "list_all"),
        ("events prepared (ids, timestamps, meters matched)", service, "prepare"),
        ("chunks planned and their updates built", service, "build_chunks"),
        ("event puts encoded", service, "event_puts"),
        ("a chunk's updates built again (after a retry)", service, "build_chunk"),
        ("prior aggregates decoded", service.DynamoUsage, "read_aggregates"),
        ("prior buckets decoded", service.DynamoUsage, "read_buckets"),
        ("unique markers decoded", service.DynamoUsage, "present_markers"),
        ("transactions encoded (updates, markers) and sent", service.DynamoUsage, "write_chunk"),
        ("thresholds checked", service.thresholds, "check"),
    ]


@contextmanager
def timed_phases(timer: StoreTimer, spent: dict[str, float]) -> Iterator[None]:
    """Each phase's thread CPU, less what its DynamoDB calls spent inside botocore, added to `spent`."""
    patched = []
    for label, owner, name in _phases():
        original = owner.__dict__[name]
        function = original.__func__ if isinstance(original, staticmethod) else original

        def timed(*args: Any, _function: Callable[..., Any] = function, _label: str = label, **kwargs: Any) -> Any:
            cpu, store = time.thread_time(), timer.cpu
            try:
                return _function(*args, **kwargs)
            finally:
                spent[_label] = spent.get(_label, 0.0) + (time.thread_time() - cpu) - (timer.cpu - store)

        setattr(owner, name, staticmethod(timed) if isinstance(original, staticmethod) else timed)
        patched.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)


def run(runs: int = 15) -> dict[str, Any]:
    from functions.handlers import ingest, management
    from functions.organizations.service import create_organization
    from functions.store import dynamo

    timer = StoreTimer()
    timer.install()
    results: dict[str, Any] = {}

    # 1. CPU per event, 5 meters.
    org = create_organization("bench-cpu")
    for i in range(5):
        call_handler(management.handler, "POST", "/v1/meters/", org.token, meters_body(i))
    call_handler(ingest.handler, "POST", "/v1/events/ingest", org.token, {"events": events(1000, -1, "warm")})
    per_event = []
    for r in range(runs):
        request = request_event("POST", "/v1/events/ingest", org.token, {"events": events(1000, r, "cpu-customer")})
        timer.reset()
        start = time.thread_time()
        response = invoke(ingest.handler, request)
        total = time.thread_time() - start
        assert response["statusCode"] == 200, str(response)[:500]
        per_event.append((total - timer.cpu) / 1000 * 1e6)
    results["cpu_us_per_event"] = statistics.median(per_event)
    results["cpu_us_per_event_runs"] = [round(x, 2) for x in per_event]
    # The breakdown: the same requests again, each step timed (apart from the runs above, which time nothing);
    # per step, the median of the runs (this machine's noise comes in bursts that would skew a mean).
    by_run: list[dict[str, float]] = []
    spent: dict[str, float] = {}
    with timed_phases(timer, spent):
        for r in range(runs):
            request = request_event("POST", "/v1/events/ingest", org.token,
                                    {"events": events(1000, runs + r, "cpu-customer")})
            spent.clear()
            timer.reset()
            start = time.thread_time()
            assert invoke(ingest.handler, request)["statusCode"] == 200
            total = time.thread_time() - start - timer.cpu
            by_run.append({**spent, "the rest (routing, JSON, authentication, response, logs and metrics)":
                           total - sum(spent.values())})
    labels = dict.fromkeys(label for run in by_run for label in run)
    results["cpu_breakdown_us_per_event"] = {
        label: statistics.median(run.get(label, 0.0) for run in by_run) / 1000 * 1e6 for label in labels}

    # 2. Write units and requests, 1 KB events, 3 meters, one customer.
    org = create_organization("bench-wcu")
    for i in range(3):
        call_handler(management.handler, "POST", "/v1/meters/", org.token, meters_body(i))
    body = {"events": events(1000, 0, "wcu-customer", padding=650)}
    call_handler(ingest.handler, "POST", "/v1/events/ingest", org.token,
                 {"events": events(1, 99, "wcu-customer")})  # the customer exists, as in steady state
    from functions.store import events as usage
    from functions.store.events import EventRecord

    sample = body["events"][0]
    [put] = usage.event_puts(org.organization_id, [EventRecord(
        id="5b0c2a51-8a4e-4d7e-9d3e-6f1f7b2c9a10", customer_id="5b0c2a51-8a4e-4d7e-9d3e-6f1f7b2c9a10",
        name=sample["name"], timestamp=sample["timestamp"], external_id=sample["external_id"],
        metadata=sample["metadata"], ingested_at=sample["timestamp"], period_key=sample["timestamp"], meter_seq=3)])
    results["event_item_bytes"] = item_size(put["Put"]["Item"])
    dynamo.requests.reset()
    timer.reset()
    response = call_handler(ingest.handler, "POST", "/v1/events/ingest", org.token, body)
    assert response["statusCode"] == 200, str(response)[:500]
    writes = {op: n for op, n in dynamo.requests.counts.items()
              if op in ("transact_write_items", "put_item", "update_item", "batch_write_item", "delete_item")}
    results["write_requests_per_1000"] = sum(writes.values())
    results["write_units_per_event"] = timer.write_units / 1000
    results["all_requests_per_1000"] = dict(dynamo.requests.counts)
    return results

