"""SDK: the caller thread's cost per tracked event, and end-to-end flush throughput to the local stack."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import httpx

from local_stack.aws import LocalAws
from local_stack.stack import LocalStack


def run(aws: LocalAws, events: int = 200_000) -> dict[str, Any]:
    """`aws`: the benchmarks' local AWS; the ingest Lambda runs in the local runtime, behind the gateway."""
    from functions.organizations.service import create_organization
    from meterbill_sdk import IngestionBuffer

    local = LocalStack(None).start(aws)
    gateway = local.gateway
    org = create_organization("bench-sdk")
    try:
        # 1. Caller cost: track() alone (checking the event against the API's rules, copying its metadata,
        # queueing it), with the worker parked: its first request hangs until the measurement is over.
        release = threading.Event()

        def hang(request: httpx.Request) -> httpx.Response:
            release.wait()
            return httpx.Response(503)

        parked = IngestionBuffer(org.token, gateway.url, batch_size=1000, flush_interval=3600, max_queue=10**9,
                                 max_retries=0, transport=httpx.MockTransport(hang))
        # The caller thread's CPU time (thread_time): what track() costs the caller, whatever else the machine
        # runs meanwhile (wall time on a shared 2-core machine varies 2x from run to run); wall time is kept too.
        samples, wall_samples = [], []
        for _ in range(5):
            start, wall = time.thread_time(), time.perf_counter()
            for i in range(events // 5):
                parked.track("bench", external_customer_id="sdk-bench", metadata={"n": i})
            samples.append((time.thread_time() - start) / (events // 5) * 1e6)
            wall_samples.append((time.perf_counter() - wall) / (events // 5) * 1e6)
        parked._queue.clear()  # not sent: this part measures the caller only
        parked.on_rejected = None
        release.set()
        parked.close()
        # 2. End to end: 20,000 events to the local stack, batches of 1,000.
        sender = IngestionBuffer(org.token, gateway.url, batch_size=1000, flush_interval=0.05)
        count = 20_000
        start = time.perf_counter()
        for i in range(count):
            sender.track("bench", external_customer_id=f"c{i % 50}", metadata={"n": i})
        sender.flush(600)
        seconds = time.perf_counter() - start
        sender.close()
        return {"track_us_per_event": statistics.median(samples), "track_runs_us": [round(s, 3) for s in samples],
                "track_wall_us_per_event": statistics.median(wall_samples),
                "flush_events": count, "flush_seconds": seconds, "flush_events_per_second": count / seconds,
                "sent": sender.stats.sent}
    finally:
        local.stop(keep_aws=True)
