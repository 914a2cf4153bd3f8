"""The ingestion buffer against the local stack (behind a flaky proxy where needed): every good event arrives
exactly once, whatever its neighbours are, and what is dropped is exactly what the API refused."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from meterbill_sdk import IngestionBuffer
from tests.sdk.conftest import unique


class FlakyProxy:
    """Forwards to the API, misbehaving as scripted: 503 before or after forwarding, or too slow to answer."""

    def __init__(self, target: str, script: list[str], rewrite: Callable[[dict], None] | None = None) -> None:
        self.script, self.target, self.seen = list(script), target, []
        self.release = threading.Event()
        self.release.set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if rewrite is not None:  # what a newer server (or a skewed clock) would refuse
                    document = json.loads(body)
                    rewrite(document)
                    body = json.dumps(document).encode()
                mode = proxy.script.pop(0) if proxy.script else "ok"
                proxy.seen.append(mode)
                proxy.release.wait()
                status, payload = 503, b'{"error":"unavailable"}'
                if mode != "503_before":
                    forwarded = httpx.post(proxy.target + self.path, content=body, timeout=30, headers={
                        "authorization": self.headers["authorization"], "content-type": "application/json"})
                    status, payload = forwarded.status_code, forwarded.content
                if mode == "503_after":
                    status, payload = 503, b'{"error":"lost reply"}'
                if mode == "slow":
                    time.sleep(1.0)  # longer than the client's timeout: it gives up and retries
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def count_meter(org) -> str:
    response = org.http.post("/v1/meters/", json={"name": "sdk events", "filter": {"conjunction": "and", "clauses": [
        {"property": "name", "operator": "eq", "value": "sdk"}]}, "aggregation": {"func": "count"}})
    return response.json()["id"]


def consumed(org, customer: str, meter_id: str | None = None) -> int:
    state = org.http.get(f"/v1/customers/external/{customer}/state")
    if state.status_code != 200:
        return 0
    meters = state.json()["active_meters"]
    return next(m["consumed_units"] for m in meters if meter_id in (None, m["meter_id"]))


def test_events_arrive_once_under_5xx_lost_replies_and_timeouts(org, api_url, count_meter) -> None:
    proxy = FlakyProxy(api_url, ["503_before", "503_after", "slow", "503_after", "ok", "503_before", "slow"])
    buffer = IngestionBuffer(org.token, proxy.url, batch_size=25, flush_interval=0.02, timeout=0.5,
                             backoff_base=0.01, backoff_max=0.05)
    customer = unique("flaky")
    try:
        for i in range(200):
            assert buffer.track("sdk", external_customer_id=customer, metadata={"i": i})
        assert buffer.flush(60)
    finally:
        buffer.close()
        proxy.close()
    assert {"503_before", "503_after", "slow"} <= set(proxy.seen)
    assert buffer.stats.retries >= 5 and buffer.stats.duplicates > 0 and buffer.stats.rejected == 0
    assert consumed(org, customer) == 200


def test_a_full_queue_drops_new_events_without_blocking_and_the_rest_arrive(org, api_url, count_meter) -> None:
    proxy = FlakyProxy(api_url, [])
    proxy.release.clear()  # the API hangs: the worker is stuck on its first batch
    buffer = IngestionBuffer(org.token, proxy.url, batch_size=10, flush_interval=0.01, max_queue=30, timeout=30)
    customer = unique("full")
    try:
        accepted = [buffer.track("sdk", external_customer_id=customer) for _ in range(10)]
        deadline = time.monotonic() + 5
        while not proxy.seen and time.monotonic() < deadline:  # the first batch is in flight
            time.sleep(0.01)
        accepted += [buffer.track("sdk", external_customer_id=customer) for _ in range(100)]
        assert accepted.count(False) == 70 and buffer.stats.dropped == 70
        proxy.release.set()
        assert buffer.flush(30)
    finally:
        buffer.close()
        proxy.close()
    assert consumed(org, customer) == 40 == buffer.stats.tracked


def test_invalid_events_are_refused_alone_and_every_good_one_arrives(org, api_url, count_meter) -> None:
    """The issue's measurement: 350 good events around a too-long string and a Decimal used to deliver 0."""
    cost_meter = org.http.post("/v1/meters/", json={"name": "sdk cost", "filter": {"conjunction": "and", "clauses": [
        {"property": "name", "operator": "eq", "value": "sdk"}]}, "aggregation": {"func": "sum", "property": "cost"}})
    refused: list[tuple[dict, str]] = []
    buffer = IngestionBuffer(org.token, api_url, batch_size=100, flush_interval=0.02,
                             on_rejected=lambda event, reason: refused.append((event, reason)))
    customer = unique("mixed")
    naive = datetime.now()  # noqa: DTZ005 - the invalid case under test
    try:
        verdicts = [buffer.track("sdk", external_customer_id=customer, metadata={"i": i}) for i in range(175)]
        verdicts.append(buffer.track("sdk", external_customer_id=customer, metadata={"note": "x" * 501}))
        verdicts += [buffer.track("sdk", external_customer_id=customer, metadata={"cost": Decimal("0.1")})
                     for _ in range(3)]
        verdicts.append(buffer.track("sdk", external_customer_id=customer, timestamp=naive))
        verdicts += [buffer.track("sdk", external_customer_id=customer, metadata={"i": i}) for i in range(175, 350)]
        assert buffer.flush(30)
    finally:
        buffer.close()
    assert verdicts.count(False) == 2 and buffer.stats.invalid == 2
    assert consumed(org, customer, count_meter) == 353 == buffer.stats.sent
    meters = org.http.get("/v1/customer-meters/", params={"external_customer_id": customer}).json()["items"]
    [cost] = [m["consumed_units"] for m in meters if m["meter_id"] == cost_meter.json()["id"]]
    assert Decimal(str(cost)) == Decimal("0.3")  # three exact tenths, not 0.30000000000000004
    assert sorted(reason.split(":")[0] for _, reason in refused) == ["invalid", "invalid"]


def test_the_api_refusing_some_events_costs_only_those(org, api_url, count_meter) -> None:
    """A real 422 from the real API (events made stale on the way): exactly those are dropped, the rest resent."""
    def make_every_tenth_stale(document: dict) -> None:
        for event in document["events"]:
            if event.get("metadata", {}).get("i", 0) % 10 == 3:
                event["timestamp"] = (datetime.now(UTC) - timedelta(days=40)).isoformat()

    proxy = FlakyProxy(api_url, [], rewrite=make_every_tenth_stale)
    refused: list[tuple[dict, str]] = []
    buffer = IngestionBuffer(org.token, proxy.url, batch_size=50, flush_interval=0.02,
                             on_rejected=lambda event, reason: refused.append((event, reason)))
    customer = unique("stale")
    try:
        for i in range(200):
            assert buffer.track("sdk", external_customer_id=customer, metadata={"i": i})
        assert buffer.flush(30)
    finally:
        buffer.close()
        proxy.close()
    assert consumed(org, customer) == 180 == buffer.stats.sent
    assert buffer.stats.rejected == 20 and buffer.stats.retries == 0
    assert sorted(event["metadata"]["i"] for event, _ in refused) == [i for i in range(200) if i % 10 == 3]
    assert all("35 days" in reason for _, reason in refused)


def test_an_outage_longer_than_the_retries_and_a_restart_lose_nothing(org, api_url, count_meter, tmp_path) -> None:
    """Process 1 tracks during an outage and exits; process 2 (same spool) sends it all with the original ids."""
    proxy = FlakyProxy(api_url, ["503_before"] * 10_000)
    customer = unique("outage")
    script = (
        "from meterbill_sdk import IngestionBuffer\n"
        f"buffer = IngestionBuffer({org.token!r}, {proxy.url!r}, spool_dir={str(tmp_path)!r}, batch_size=20,\n"
        "                          max_retries=2, backoff_base=0.01, backoff_max=0.05, flush_interval=0.02,\n"
        "                          close_timeout=1)\n"
        f"for i in range(130): buffer.track('sdk', external_customer_id={customer!r}, metadata={{'i': i}})\n"
        "buffer.flush(1)\n"
        "print(buffer.stats.spooled)\n"
    )
    try:
        run = subprocess.run([sys.executable, "-c", script], check=True, timeout=60, capture_output=True, text=True)
    finally:
        proxy.close()
    assert run.stdout.split()[-1] == "130" and consumed(org, customer) == 0
    spooled_ids = {json.loads(line)["external_id"] for path in Path(tmp_path).glob("*.ndjson")
                   for line in path.read_text().splitlines()}
    assert len(spooled_ids) == 130
    buffer = IngestionBuffer(org.token, api_url, spool_dir=tmp_path, flush_interval=0.02)
    try:
        assert buffer.flush(30)
    finally:
        buffer.close()
    assert consumed(org, customer) == 130
    arrived = set()
    for page in (1, 2):
        listing = org.http.get("/v1/events/", params={"external_customer_id": customer, "limit": 100, "page": page})
        arrived |= {event["external_id"] for event in listing.json()["items"]}
    assert arrived == spooled_ids


def test_queued_events_are_flushed_at_interpreter_exit(org, api_url, count_meter) -> None:
    import subprocess
    import sys

    customer = unique("exit")
    script = (
        "from meterbill_sdk import IngestionBuffer\n"
        f"buffer = IngestionBuffer({org.token!r}, {api_url!r}, batch_size=1000, flush_interval=60)\n"
        f"for _ in range(7): buffer.track('sdk', external_customer_id={customer!r})\n"
        # no close(): the interpreter exits with the events still queued
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert consumed(org, customer) == 7
