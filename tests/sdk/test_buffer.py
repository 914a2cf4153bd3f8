"""The ingestion buffer against the local stack behind a flaky proxy: every event arrives exactly once."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from meterbill_sdk import IngestionBuffer
from tests.sdk.conftest import unique


class FlakyProxy:
    """Forwards to the API, misbehaving as scripted: 503 before or after forwarding, or too slow to answer."""

    def __init__(self, target: str, script: list[str]) -> None:
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


def consumed(org, customer: str) -> int:
    state = org.http.get(f"/v1/customers/external/{customer}/state")
    return state.json()["active_meters"][0]["consumed_units"] if state.status_code == 200 else 0


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


def test_a_4xx_batch_is_not_retried(org, api_url) -> None:
    buffer = IngestionBuffer(org.token, api_url, batch_size=5, flush_interval=0.01)
    try:
        buffer.track("", external_customer_id="x")  # the API refuses an empty name: 422
        assert buffer.flush(10)
    finally:
        buffer.close()
    assert buffer.stats.rejected == 1 and buffer.stats.retries == 0 and buffer.stats.sent == 0


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
