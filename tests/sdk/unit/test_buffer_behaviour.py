"""The buffer against an in-process fake of the ingest API: what is kept, what is dropped, and who is told."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from meterbill_sdk import IngestionBuffer
from tests.sdk.unit.fake_api import FakeIngestAPI

FAST = {"flush_interval": 0.01, "backoff_base": 0.001, "backoff_max": 0.01}


def make(api: FakeIngestAPI, **options) -> tuple[IngestionBuffer, list[tuple[dict, str]]]:
    refused: list[tuple[dict, str]] = []
    settings = {**FAST, "on_rejected": lambda event, reason: refused.append((event, reason)), **options}
    return IngestionBuffer("token", "http://api.test", transport=api.transport(), **settings), refused


def test_one_invalid_event_is_refused_alone_and_the_worker_goes_on() -> None:
    api = FakeIngestAPI()
    buffer, refused = make(api, batch_size=100)
    try:
        results = []
        for i in range(350):
            results.append(buffer.track("good", external_customer_id="c", metadata={"i": i}))
            if i == 100:
                results.append(buffer.track("bad", external_customer_id="c", metadata={"note": "x" * 501}))
            if i == 200:  # used to kill the worker thread: now it is encoded as an exact number
                results.append(buffer.track("money", external_customer_id="c", metadata={"cost": Decimal("0.10")}))
        assert buffer.flush(10)
    finally:
        buffer.close()
    assert results.count(False) == 1
    assert sorted(e["metadata"]["i"] for e in api.stored.values() if e["name"] == "good") == list(range(350))
    [money] = [e for e in api.stored.values() if e["name"] == "money"]
    assert money["metadata"] == {"cost": 0.1}
    assert buffer.stats.tracked == 351 and buffer.stats.sent == 351 and buffer.stats.invalid == 1
    [(event, reason)] = refused
    assert event["name"] == "bad" and reason.startswith("invalid: ") and "500 characters" in reason


def test_a_422_drops_exactly_the_events_it_names_and_resends_the_rest_at_once() -> None:
    api = FakeIngestAPI(refuse=lambda index, event: "no sevens" if event["metadata"]["i"] % 7 == 0 else None)
    buffer, refused = make(api, batch_size=50, max_retries=0)
    try:
        for i in range(100):
            buffer.track("e", external_customer_id="c", metadata={"i": i})
        assert buffer.flush(10)
    finally:
        buffer.close()
    sevens = [i for i in range(100) if i % 7 == 0]
    assert sorted(e["metadata"]["i"] for e in api.stored.values()) == [i for i in range(100) if i % 7]
    assert sorted(event["metadata"]["i"] for event, _ in refused) == sevens
    assert {reason for _, reason in refused} == {"refused by the API: metadata: no sevens"}
    assert buffer.stats.rejected == len(sevens) and buffer.stats.sent == 100 - len(sevens)
    assert buffer.stats.retries == 0  # a resend after a 422 is not a retry: nothing waited


def test_a_refusal_naming_no_event_is_narrowed_down_by_halving() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        if any(event["name"] == "poison" for event in events):
            return httpx.Response(400, json={"error": "BadRequest"})
        for event in events:
            delivered.append(event["name"])
        return httpx.Response(200, json={"inserted": len(events), "duplicates": 0})

    delivered: list[str] = []
    refused: list[str] = []
    buffer = IngestionBuffer("t", "http://api.test", transport=httpx.MockTransport(handler), batch_size=64,
                             on_rejected=lambda event, reason: refused.append(event["name"]), **FAST)
    try:
        for i in range(64):
            buffer.track("poison" if i in (5, 40) else f"ok{i}", external_customer_id="c")
        assert buffer.flush(10)
    finally:
        buffer.close()
    assert sorted(refused) == ["poison", "poison"]
    assert sorted(delivered) == sorted(f"ok{i}" for i in range(64) if i not in (5, 40))


def test_the_worker_survives_its_own_and_the_callbacks_exceptions() -> None:
    api = FakeIngestAPI(refuse=lambda index, event: "nope" if event["name"] == "refused" else None)

    def angry(event: dict, reason: str) -> None:
        raise RuntimeError("callback bug")

    buffer = IngestionBuffer("t", "http://api.test", transport=api.transport(), on_rejected=angry, max_retries=0,
                             **FAST)
    try:
        buffer.track("refused", external_customer_id="c")
        buffer.track("", external_customer_id="c")  # invalid: on_rejected raises on the caller's thread, caught
        api.raise_error = RuntimeError("not an httpx error: a bug below us")
        buffer.track("lost", external_customer_id="c")
        assert buffer.flush(5)
        api.raise_error = None
        for i in range(20):
            buffer.track("after", external_customer_id="c", metadata={"i": i})
        assert buffer.flush(5)
    finally:
        buffer.close()
    assert sorted(e["metadata"]["i"] for e in api.stored.values() if e["name"] == "after") == list(range(20))
    assert buffer.stats.errors >= 3  # two callbacks and the transport's exception


def test_without_a_spool_a_batch_is_given_up_after_the_retries_and_reported() -> None:
    api = FakeIngestAPI()
    api.status_override = 503
    buffer, refused = make(api, max_retries=2)
    try:
        buffer.track("e", external_customer_id="c", external_id="kept-id")
        assert buffer.flush(5)
    finally:
        buffer.close()
    assert buffer.stats.failed == 1 and buffer.stats.retries == 2
    assert [(event["external_id"], reason.startswith("gave up")) for event, reason in refused] == [("kept-id", True)]


def test_a_spool_keeps_events_through_an_outage_and_sends_them_with_their_ids(tmp_path: Path) -> None:
    api = FakeIngestAPI()
    api.status_override = 503
    buffer, refused = make(api, max_retries=1, spool_dir=tmp_path, batch_size=10)
    try:
        for i in range(35):
            assert buffer.track("e", external_customer_id="c", metadata={"i": i}, external_id=f"id-{i}")
        deadline = time.monotonic() + 5
        while buffer.stats.spooled < 35 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert buffer.stats.spooled == 35 and not api.stored
        assert not buffer.flush(0.2)  # still on disk: not delivered
        api.status_override = None  # the API is back: the next probe succeeds and the spool drains
        assert buffer.flush(10)
    finally:
        buffer.close()
    assert sorted(api.stored) == sorted(f"id-{i}" for i in range(35))
    assert not list(tmp_path.glob("*.ndjson")) and not refused and buffer.stats.failed == 0


def test_the_spool_outlives_the_process_and_the_next_one_sends_it(tmp_path: Path) -> None:
    script = (
        "from meterbill_sdk import IngestionBuffer\n"
        # Nothing listens on port 9: every request fails at once
        f"buffer = IngestionBuffer('t', 'http://127.0.0.1:9', spool_dir={str(tmp_path)!r}, max_retries=1,\n"
        "                          backoff_base=0.001, flush_interval=3600, close_timeout=0.5)\n"
        "for i in range(42):\n"
        "    buffer.track('e', external_customer_id='c', metadata={'i': i})\n"
        # no close(): the interpreter's exit spools what could not be sent
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60,
                   env={"PYTHONPATH": str(Path(__file__).resolve().parents[3] / "sdk")})
    spooled = [json.loads(line) for path in tmp_path.glob("*.ndjson") for line in path.read_text().splitlines()]
    assert sorted(e["metadata"]["i"] for e in spooled) == list(range(42))
    api = FakeIngestAPI()
    buffer, _ = make(api, spool_dir=tmp_path)
    try:
        assert buffer.flush(10)
    finally:
        buffer.close()
    assert sorted(api.stored) == sorted(e["external_id"] for e in spooled)  # the original ids, once each
    assert buffer.stats.sent == 42 and not list(tmp_path.glob("*.ndjson"))


def test_a_full_spool_gives_up_and_says_so(tmp_path: Path) -> None:
    api = FakeIngestAPI()
    api.status_override = 503
    buffer, refused = make(api, max_retries=0, spool_dir=tmp_path, spool_max_bytes=2000, batch_size=5)
    try:
        for i in range(60):
            buffer.track("e", external_customer_id="c", metadata={"i": i})
        buffer.flush(0.5)
    finally:
        buffer.close()
    on_disk = sum(len(p.read_text().splitlines()) for p in tmp_path.glob("*.ndjson"))
    assert sum(p.stat().st_size for p in tmp_path.glob("*.ndjson")) <= 2000
    assert on_disk == buffer.stats.spooled and buffer.stats.failed == 60 - on_disk > 0
    assert {reason for _, reason in refused} == {"spool full or unwritable"}


def test_counts_stay_exact_when_many_threads_track() -> None:
    api = FakeIngestAPI()
    buffer, _ = make(api, batch_size=500)

    def work(thread: int) -> None:
        for i in range(2000):
            buffer.track("e", external_customer_id=f"c{thread}", metadata={"i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert buffer.flush(20)
    finally:
        buffer.close()
    assert buffer.stats.tracked == 16_000 == buffer.stats.sent == len(api.stored)


def test_close_does_not_hang_on_a_hung_api_and_keeps_the_events(tmp_path: Path) -> None:
    release = threading.Event()

    def hung(request: httpx.Request) -> httpx.Response:
        release.wait(10)
        return httpx.Response(503)

    buffer = IngestionBuffer("t", "http://api.test", transport=httpx.MockTransport(hung), spool_dir=tmp_path,
                             close_timeout=0.3, **FAST)
    for i in range(5):
        buffer.track("e", external_customer_id="c", metadata={"i": i})
    time.sleep(0.1)  # the first batch is in flight
    started = time.monotonic()
    buffer.close()
    release.set()
    assert time.monotonic() - started < 2
    spooled = [json.loads(line) for path in tmp_path.glob("*.ndjson") for line in path.read_text().splitlines()]
    assert sorted({e["metadata"]["i"] for e in spooled}) == list(range(5))


@pytest.mark.parametrize("batch_size", [0, 1001])
def test_batch_size_is_bounded_by_the_apis_limit(batch_size: int) -> None:
    with pytest.raises(ValueError, match="1 to 1000"):
        IngestionBuffer("t", "http://api.test", batch_size=batch_size)
