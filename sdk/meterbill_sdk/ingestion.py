"""The ingestion buffer: `track()` costs the caller a deque append; a background thread does the network.

- Batches of `batch_size` events, or whatever is queued every `flush_interval` seconds.
- Every event gets an `external_id` when it is tracked (`{buffer id}-{sequence}`), so a retried batch is
  deduplicated by the server: retries can never double count.
- Retries with exponential backoff and full jitter on network errors, timeouts, 429 (honouring Retry-After)
  and 5xx; never on another 4xx (the batch is dropped and counted in `stats.rejected`).
- Bounded queue: when `max_queue` events are waiting, `track()` drops the new event, counts it in
  `stats.dropped` and returns False. It never blocks and never raises.
- `close()` (also run at interpreter exit) flushes what is queued, within `close_timeout` seconds.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

logger = logging.getLogger("meterbill_sdk")
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class Stats:
    tracked: int = 0
    sent: int = 0  # accepted by the server (inserted or duplicate)
    duplicates: int = 0
    dropped: int = 0  # refused by track() because the queue was full
    rejected: int = 0  # in batches the server refused with a 4xx
    retries: int = 0
    batches: int = 0


class IngestionBuffer:
    def __init__(self, token: str, base_url: str, *, batch_size: int = 500, flush_interval: float = 1.0,
                 max_queue: int = 100_000, max_retries: int = 10, backoff_base: float = 0.2,
                 backoff_max: float = 30.0, timeout: float = 10.0, close_timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.batch_size, self.flush_interval, self.max_queue = batch_size, flush_interval, max_queue
        self.max_retries, self.backoff_base, self.backoff_max = max_retries, backoff_base, backoff_max
        self.close_timeout = close_timeout
        self.stats = Stats()
        self._prefix = uuid.uuid4().hex
        self._sequence = itertools.count(1)  # next() is atomic: ids stay unique across caller threads
        self._queue: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})
        self._worker = threading.Thread(target=self._run, name="meterbill-ingestion", daemon=True)
        self._worker.start()
        atexit.register(self.close)

    def track(self, name: str, *, external_customer_id: str | None = None, customer_id: str | None = None,
              metadata: dict[str, Any] | None = None, timestamp: datetime | None = None,
              external_id: str | None = None) -> bool:
        """Queue one event. Never blocks, never raises, no network. False if the queue was full."""
        if len(self._queue) >= self.max_queue:
            self.stats.dropped += 1
            return False
        self._queue.append((name, external_customer_id, customer_id, metadata, timestamp or time.time(),
                            external_id or f"{self._prefix}-{next(self._sequence)}"))
        self.stats.tracked += 1
        if len(self._queue) >= self.batch_size:
            self._wake.set()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far was sent (or given up). True if the queue drained."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue or not self._idle.is_set():
            self._wake.set()
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self.flush(self.close_timeout)
        self._stopping.set()
        self._wake.set()
        self._worker.join(self.close_timeout)
        self._http.close()

    # The worker thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            while self._queue:
                self._idle.clear()
                batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                self._send([self._event(item) for item in batch])
            self._idle.set()

    @staticmethod
    def _event(item: tuple[Any, ...]) -> dict[str, Any]:
        name, external_customer_id, customer_id, metadata, moment, external_id = item
        stamp = moment if isinstance(moment, datetime) else datetime.fromtimestamp(moment, tz=UTC)
        event: dict[str, Any] = {"name": name, "external_id": external_id, "timestamp": stamp.isoformat()}
        if customer_id:
            event["customer_id"] = customer_id
        else:
            event["external_customer_id"] = external_customer_id
        if metadata:
            event["metadata"] = metadata
        return event

    def _send(self, events: list[dict[str, Any]]) -> None:
        for attempt in range(self.max_retries + 1):
            delay = min(self.backoff_max, self.backoff_base * 2**attempt)
            try:
                response = self._http.post("/v1/events/ingest", json={"events": events})
            except httpx.HTTPError as exc:
                logger.warning("ingest failed (%s); retrying", type(exc).__name__)
            else:
                if response.status_code < 300:
                    body = response.json()
                    self.stats.sent += body.get("inserted", 0) + body.get("duplicates", 0)
                    self.stats.duplicates += body.get("duplicates", 0)
                    self.stats.batches += 1
                    return
                if response.status_code not in RETRYABLE:
                    logger.error("ingest refused a batch of %d: HTTP %d %s", len(events), response.status_code,
                                 response.text[:500])
                    self.stats.rejected += len(events)
                    return
                retry_after = response.headers.get("retry-after")
                if retry_after and retry_after.isdigit():
                    delay = max(delay, float(retry_after))
            if attempt == self.max_retries or self._stopping.is_set() and attempt >= 2:
                break
            self.stats.retries += 1
            time.sleep(random.uniform(0, delay))  # full jitter
        logger.error("giving up on a batch of %d events after %d attempts", len(events), attempt + 1)
        self.stats.rejected += len(events)
