"""Customer-meter read and the first page of the customer's events at 10^3 and 10^6 stored events for one
customer: DynamoDB requests and time.

The events go in through the real ingest handler (1,000 per request), so the aggregates are the real ones.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from benchmarks.harness import StoreTimer, call_handler
from benchmarks.ingest import meters_body
from functions.common.clock import iso

if TYPE_CHECKING:
    from functions.store.entities import Customer, Meter


def load(token: str, customer: str, count: int, offset: int) -> None:
    from functions.handlers import ingest

    base = datetime.now(UTC) - timedelta(minutes=3)
    for start in range(0, count, 1000):
        body = {"events": [
            {"name": "llm", "external_customer_id": customer, "external_id": f"{offset + start + i}",
             "timestamp": iso(base + timedelta(microseconds=start + i)), "metadata": {"tokens": i, "model": "m"}}
            for i in range(min(1000, count - start))
        ]}
        response = call_handler(ingest.handler, "POST", "/v1/events/ingest", token, body)
        assert response["statusCode"] == 200, str(response)[:500]


def read_stats(org_id: str, customer: Customer, meters: dict[str, Meter], reads: int = 300) -> dict[str, float]:
    from functions.customer_meters.service import customer_meters
    from functions.store import dynamo

    dynamo.requests.reset()
    customer_meters(org_id, customer, meters)
    requests = sum(dynamo.requests.counts.values())
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        customer_meters(org_id, customer, meters)
        times.append(time.perf_counter() - start)
    return {"requests": requests, "median_ms": statistics.median(times) * 1000,
            "p95_ms": sorted(times)[int(reads * 0.95)] * 1000}


def get_stats(token: str, path: str, reads: int = 50) -> dict[str, float]:
    """GET `path` through the management handler: DynamoDB requests of one call, median and p95 time."""
    from functions.handlers import management
    from functions.store import dynamo

    dynamo.requests.reset()
    response = call_handler(management.handler, "GET", path, token)
    assert response["statusCode"] == 200, str(response)[:500]
    requests = sum(dynamo.requests.counts.values())
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        call_handler(management.handler, "GET", path, token)
        times.append(time.perf_counter() - start)
    return {"requests": requests, "median_ms": statistics.median(times) * 1000,
            "p95_ms": sorted(times)[int(reads * 0.95)] * 1000}


def first_page_path(customer: str) -> str:
    """The first page of the customer's events, newest first (the listing index, GSI2)."""
    return f"/v1/events/?external_customer_id={customer}&limit=10"


def quantities_path(meter_id: str, customer: str) -> str:
    """A day-interval quantities read of the customer's meter over the last 31 days (its day buckets)."""
    now = datetime.now(UTC)
    return (f"/v1/meters/{meter_id}/quantities?external_customer_id={customer}&interval=day"
            f"&start_timestamp={iso(now - timedelta(days=31))}&end_timestamp={iso(now)}")


def run(large: int = 1_000_000) -> dict[Any, Any]:
    from functions.handlers import management
    from functions.organizations.service import create_organization
    from functions.store import customers, meters

    org = create_organization("bench-read")
    for i in range(3):
        call_handler(management.handler, "POST", "/v1/meters/", org.token, meters_body(i))
    all_meters = {m.id: m for m in meters.list_all(org.organization_id)}
    results: dict[Any, Any] = {}
    loaded = 0
    started = time.perf_counter()
    for size in (1_000, large):
        load(org.token, "reader", size - loaded, loaded)
        loaded = size
        customer_id = customers.ids_by_external_id(org.organization_id, ["reader"])["reader"]
        customer = customers.get(org.organization_id, customer_id)
        assert customer is not None
        results[size] = read_stats(org.organization_id, customer, all_meters)
        results[size]["first_page"] = get_stats(org.token, first_page_path("reader"))
        sum_meter = next(m.id for m in all_meters.values() if m.aggregation["func"] == "sum")
        results[size]["quantities"] = get_stats(org.token, quantities_path(sum_meter, "reader"))
    results["load_seconds"] = time.perf_counter() - started
    results["ratio"] = results[large]["median_ms"] / results[1_000]["median_ms"]
    for read in ("first_page", "quantities"):
        results[f"{read}_ratio"] = results[large][read]["median_ms"] / results[1_000][read]["median_ms"]
    return results


HISTORY_METERS = 10
CLOSED_PERIODS = 36


def history_run(reads: int = 300) -> dict[str, Any]:
    """The customer-meter read of a customer with 36 closed monthly periods x 10 meters against a new customer's:
    read units and time. Both have one event per meter in the open period, ingested through the real handler;
    the old customer's closed periods are written as the store writes them (an aggregate, then the close's
    update marking it closed), one per meter and month."""
    from functions.handlers import management
    from functions.meters.periods import calendar_month
    from functions.organizations.service import create_organization
    from functions.store import customers, meters
    from functions.store.aggregates import StoredAggregate, mark_closed, put_aggregate
    from functions.store.partial import Partial

    org = create_organization("bench-history")
    for i in range(HISTORY_METERS):
        call_handler(management.handler, "POST", "/v1/meters/", org.token, meters_body(i))
    all_meters = {m.id: m for m in meters.list_all(org.organization_id)}
    for external_id in ("new-customer", "old-customer"):
        load(org.token, external_id, 1, offset=hash(external_id) % 10**6)
    ids = customers.ids_by_external_id(org.organization_id, ["new-customer", "old-customer"])
    month = calendar_month(datetime.now(UTC))
    for _ in range(CLOSED_PERIODS):
        month = calendar_month(month.start - timedelta(days=1))
        for meter_id in all_meters:
            key = StoredAggregate(ids["old-customer"], meter_id, month.key, iso(month.end), version=1,
                                  state=Partial(count=5, total=Decimal(50)))
            put_aggregate(org.organization_id, key, None)
            mark_closed(org.organization_id, key)
    results: dict[str, Any] = {}
    timer = StoreTimer()
    timer.install()
    for external_id in ("new-customer", "old-customer"):
        customer = customers.get(org.organization_id, ids[external_id])
        assert customer is not None
        timer.reset()
        results[external_id] = read_stats(org.organization_id, customer, all_meters, reads)
        results[external_id]["read_units"] = timer.read_units / (reads + 1)  # read_stats reads once more first
    results["time_ratio"] = results["old-customer"]["median_ms"] / results["new-customer"]["median_ms"]
    results["read_unit_ratio"] = results["old-customer"]["read_units"] / results["new-customer"]["read_units"]
    results["closed_items"] = CLOSED_PERIODS * HISTORY_METERS
    return results
