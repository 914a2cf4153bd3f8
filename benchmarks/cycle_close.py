"""Cycle close: DynamoDB requests per subscription and the time to close N subscriptions (DESIGN.md 10).

Subscriptions are created through the billing service (the code behind POST /v1/subscriptions/), every tenth
customer gets usage through the real ingest handler, then the real cycle-close handler runs once, as of the
end of the period plus the grace period. Publishing (PDF + JSON to moto's S3, EventBridge) is included in
the time; the request count is DynamoDB's only.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from benchmarks.harness import StoreTimer, call_handler, detach_bus_targets
from functions.common.clock import iso, parse_iso


def run(count: int = 10_000) -> dict[str, Any]:
    from benchmarks.harness import BenchContext
    from functions.billing import catalogue, subscriptions
    from functions.billing.schemas import ProductCreate, SubscriptionCreate
    from functions.customers import service as customers
    from functions.handlers import cycle_close, ingest, management
    from functions.meters import service as meters
    from functions.organizations.service import create_organization

    detach_bus_targets()
    org = create_organization("bench-close")
    meter = call_handler(management.handler, "POST", "/v1/meters/", org.token, {
        "name": "calls", "filter": {"conjunction": "and", "clauses": []}, "aggregation": {"func": "count"}})
    import json

    meter_id = json.loads(meter["body"])["id"]
    product = catalogue.create_product(org.organization_id, ProductCreate.model_validate({
        "name": "Usage", "recurring_interval": "month",
        "prices": [{"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "0.25"}]}))
    started = time.perf_counter()
    last_end = None
    for i in range(count):
        customer = customers.create(org.organization_id, external_id=f"c{i}", email=f"c{i}@example.com")
        sub = subscriptions.create_subscription(org.organization_id, SubscriptionCreate(
            customer_id=customer.id, product_id=product.id))
        last_end = sub.current_period_end
        if i % 10 == 0:
            call_handler(ingest.handler, "POST", "/v1/events/ingest", org.token, {"events": [
                {"name": "call", "customer_id": customer.id, "external_id": f"e{i}-{k}"} for k in range(5)]})
    setup_seconds = time.perf_counter() - started
    as_of = parse_iso(last_end) + timedelta(hours=2)  # type: ignore[arg-type]
    # The catch-up backfill of meters created minutes earlier (here: by this run's setup and the sections before
    # it, sharing the table) is a sweep of its own that the close runs first; done now, it stays out of the
    # close's numbers.
    meters.catch_up_backfills(as_of)
    timer = StoreTimer()
    timer.install()
    started = time.perf_counter()
    result = cycle_close.handler({"as_of": iso(as_of)}, BenchContext("cycle-close", timeout_seconds=3600))
    seconds = time.perf_counter() - started
    requests = sum(timer.requests.values())
    return {
        "subscriptions": count, "closed": result["closed"], "failed": result["failed"],
        "seconds": seconds, "per_second": result["closed"] / seconds,
        "dynamodb_requests": dict(timer.requests), "requests_per_subscription": requests / max(1, result["closed"]),
        "setup_seconds": setup_seconds,
    }
