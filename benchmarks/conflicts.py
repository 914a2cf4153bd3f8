"""One hot customer: 1, 4 and 16 concurrent writers sending 1,000-event batches for the same customer, through the
gateway and the local Lambda runtime, with the edge applying DynamoDB's transaction-conflict rule.

Reported per case: transactions the conflict rule cancelled (each is retried by the ingest), transactions
DynamoDB refused on a condition (a min/max/last moved past the writer's, or a duplicate) and single writes the
rule refused, per 1,000 events; requests answered 409; and whether the meters equal the oracle.
"""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx

from local_stack.aws import LocalAws
from local_stack.stack import LocalStack, Options

BATCH = 1000
BATCHES = 16  # per case, shared out among the writers


def _meters(http: httpx.Client) -> dict[str, str]:
    ids = {}
    for func in ("count", "sum", "min", "max", "last"):
        aggregation: dict[str, str] = {"func": func} if func == "count" else {"func": func, "property": "v"}
        response = http.post("/v1/meters/", json={"name": f"hot {func}", "aggregation": aggregation,
                                                  "filter": {"conjunction": "and", "clauses": []}})
        ids[func] = response.raise_for_status().json()["id"]
    return ids


def _case(local: LocalStack, writers: int) -> dict[str, Any]:
    from functions.organizations.service import create_organization

    assert local.aws is not None and local.aws.edge is not None
    org = create_organization(f"bench-conflicts-{writers}")
    http = httpx.Client(base_url=local.api_url, headers={"Authorization": f"Bearer {org.token}"}, timeout=300)
    meters = _meters(http)
    customer = f"hot-{uuid.uuid4().hex[:8]}"
    per_writer = BATCHES // writers
    statuses: list[int] = []
    values: list[int] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        client = httpx.Client(base_url=local.api_url, headers={"Authorization": f"Bearer {org.token}"}, timeout=300)
        for b in range(per_writer):
            batch: list[dict[str, Any]] = [
                {"name": "hot", "external_customer_id": customer, "external_id": f"{w}-{b}-{i}",
                 "metadata": {"v": (w * 7919 + b * 104729 + i) % 1000}} for i in range(BATCH)]
            while True:
                response = client.post("/v1/events/ingest", json={"events": batch})
                with lock:
                    statuses.append(response.status_code)
                if response.status_code != 409:  # a 409 is safe to resend: the batch is idempotent
                    break
            with lock:
                values.extend(e["metadata"]["v"] for e in batch)

    http.post("/v1/events/ingest", json={"events": [{"name": "warm", "external_customer_id": customer}]})
    before = vars(local.aws.edge.conflicts).copy()
    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    after = vars(local.aws.edge.conflicts)
    events = len(values)
    stored = {}
    for func, meter_id in meters.items():
        items = http.get("/v1/customer-meters/", params={"external_customer_id": customer,
                                                         "meter_id": meter_id}).json()["items"]
        stored[func] = Decimal(str(items[0]["consumed_units"])) if items else None
    # The count meter also counts the one warm-up event (it has no `v`, so the others skip it).
    oracle = {"count": Decimal(events + 1), "sum": Decimal(sum(values)), "min": Decimal(min(values)),
              "max": Decimal(max(values))}
    exact = all(stored[f] == oracle[f] for f in oracle)
    cancelled = after["transactions_cancelled"] - before["transactions_cancelled"]
    refused = after["single_writes_refused"] - before["single_writes_refused"]
    upstream = after["transactions_refused_upstream"] - before["transactions_refused_upstream"]
    return {
        "writers": writers, "events": events, "seconds": seconds, "events_per_second": events / seconds,
        "transactions": after["transactions"] - before["transactions"],
        "transactions_cancelled": cancelled, "single_writes_refused": refused,
        "transactions_refused_upstream": upstream, "refused_upstream_per_1000_events": upstream * 1000 / events,
        "cancelled_per_1000_events": cancelled * 1000 / events, "refused_per_1000_events": refused * 1000 / events,
        "responses_409": statuses.count(409), "other_errors": sum(1 for s in statuses if s not in (200, 409)),
        "meters_exact": exact, "meters": {f: str(v) for f, v in stored.items()},
        "oracle": {f: str(v) for f, v in oracle.items()},
    }


def run(aws: LocalAws) -> dict[str, Any]:
    local = LocalStack(None, Options(max_environments=16)).start(aws)
    try:
        return {"cases": [_case(local, writers) for writers in (1, 4, 16)]}
    finally:
        local.stop(keep_aws=True)
