"""The ingestion buffer: `track()` checks an event and appends it to a queue; a background thread does the network.

What the caller's thread does (a few microseconds): check the event against the API's rules (meterbill_sdk.events),
copy its metadata, give it an `external_id`, append it to a deque. An invalid event is refused there, alone:
`track()` returns False, `stats.invalid` counts it, `on_rejected` hears about it. It never blocks and never raises.

What the worker thread does, and what it guarantees:
- Sends batches of up to `batch_size` events (and `max_batch_bytes` of JSON), or what is queued every
  `flush_interval` seconds. Every event carries its `external_id`, so a resent event is counted once by the API.
- Network errors, timeouts, 408/425/429 (Retry-After honoured) and 5xx are retried with exponential backoff and
  full jitter, up to `max_retries` times.
- A 422 names the refused events (`loc: ["body", "events", i, field]`): exactly those are dropped (counted in
  `stats.rejected`, reported to `on_rejected` with the API's reason) and the rest is resent at once. A 4xx that
  names no event (or 400/413) splits the batch in halves until the refused events are alone.
- After the retries, without a spool, the batch is given up (`stats.failed`, `on_rejected`). With a spool
  (`spool_dir`), it is written to disk and the buffer enters outage mode: new batches go straight to disk, one
  spooled batch probes the API now and then, and once it answers the spool is sent, oldest first, with the
  events' original `external_id`s. A spool left by an earlier process is sent the same way.
- The worker never dies: every exception is caught, logged and counted in `stats.errors`.
- `close()` (also at interpreter exit) flushes within `close_timeout`; what is still unsent then goes to the
  spool, or is reported as failed.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from meterbill_sdk.events import (
    EXTERNAL_CUSTOMER_ID_MAX,
    NAME_MAX,
    as_event,
    check_event,
    clean_metadata,
    encode,
)
from meterbill_sdk.spool import Spool

logger = logging.getLogger("meterbill_sdk")
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
# The batch cannot be right or wrong here: the token, the URL or the organization is. With a spool these are
# kept on disk like an outage (a restart with the right settings sends them), without one they are refused.
MISCONFIGURED = {401, 403, 404}
SPLITTABLE = {400, 413, 422}  # a body-level refusal: halving the batch isolates the culprit
MAX_EVENTS_PER_REQUEST = 1000  # the API's limit

Rejected = Callable[[dict[str, Any], str], None]


@dataclass
class Stats:
    """Counters. Every tracked event ends in exactly one of sent, rejected, failed, or is still queued/spooled."""

    invalid: int = 0  # refused by track(): the event breaks the API's rules
    dropped: int = 0  # refused by track(): the queue was full
    sent: int = 0  # accepted by the API (inserted or duplicate), spooled events of earlier processes included
    duplicates: int = 0
    rejected: int = 0  # refused by the API (4xx), event by event
    failed: int = 0  # given up: retries exhausted with no spool, spool full, or still unsent at close
    spooled: int = 0  # written to the on-disk spool
    retries: int = 0
    batches: int = 0  # requests the API accepted
    errors: int = 0  # exceptions caught in the worker or in on_rejected
    sequence: Any = field(default=None, repr=False)  # the buffer's itertools.count: one number drawn per accepted event

    @property
    def tracked(self) -> int:
        """Accepted by track(): the numbers drawn so far (read without drawing one: count's repr is `count(n)`)."""
        return int(repr(self.sequence)[6:-1]) - 1 if self.sequence is not None else 0


class _Flush:
    """A marker in the queue: set once every event queued before it has been handled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class _Throttle:
    """At most one log line per kind every `seconds`, saying how many were not logged."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds, self.last, self.skipped = seconds, -1e9, 0

    def __call__(self, level: int, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.last < self.seconds:
            self.skipped += 1
            return
        if self.skipped:
            message += f" ({self.skipped} more since the last message)"
        self.last, self.skipped = now, 0
        logger.log(level, message, *args)


class IngestionBuffer:
    def __init__(self, token: str, base_url: str, *, batch_size: int = 500, flush_interval: float = 1.0,
                 max_queue: int = 100_000, max_retries: int = 10, backoff_base: float = 0.2,
                 backoff_max: float = 30.0, timeout: float = 10.0, close_timeout: float = 10.0,
                 max_batch_bytes: int = 1_000_000, spool_dir: str | os.PathLike[str] | None = None,
                 spool_max_bytes: int = 100 * 1024 * 1024, on_rejected: Rejected | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not 1 <= batch_size <= MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"batch_size must be 1 to {MAX_EVENTS_PER_REQUEST} (the API's limit per request)")
        self.batch_size, self.flush_interval, self.max_queue = batch_size, flush_interval, max_queue
        self.max_retries, self.backoff_base, self.backoff_max = max_retries, backoff_base, backoff_max
        self.close_timeout, self.max_batch_bytes, self.on_rejected = close_timeout, max_batch_bytes, on_rejected
        self._sequence = itertools.count(1)  # next() is atomic: numbers stay unique across caller threads
        self.stats = Stats(sequence=self._sequence)
        self._spool = Spool(spool_dir, spool_max_bytes) if spool_dir is not None else None
        self._prefix = uuid.uuid4().hex
        self._counting = threading.Lock()  # caller threads' counters (+= is not atomic)
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._closed = False
        self._outage = False  # the API did not answer a whole retry budget: batches go straight to the spool
        self._probe_at = 0.0
        self._probes = 0
        self._in_flight: list[str] = []
        self._log_invalid, self._log_dropped = _Throttle(), _Throttle()
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self._worker = threading.Thread(target=self._run, name="meterbill-ingestion", daemon=True)
        self._worker.start()
        atexit.register(self.close)

    # The caller's side ---------------------------------------------------------------------------------------

    def track(self, name: str, *, external_customer_id: str | None = None, customer_id: str | None = None,
              metadata: dict[str, Any] | None = None, timestamp: datetime | None = None,
              external_id: str | None = None) -> bool:
        """Queue one event. Never blocks, never raises, no network. False if it was refused (invalid, or the
        queue was full)."""
        moment: float | datetime
        try:
            if (type(name) is str and 0 < len(name) <= NAME_MAX and customer_id is None and external_id is None
                    and timestamp is None and type(external_customer_id) is str
                    and 0 < len(external_customer_id) <= EXTERNAL_CUSTOMER_ID_MAX):
                # The common case, inlined (the hot path): the same rules as check_event's, which does the rest.
                clean, moment = clean_metadata(metadata) if metadata else None, time.time()
            else:
                clean, moment = check_event(name, external_customer_id, customer_id, metadata, timestamp,
                                            external_id)
        except Exception as exc:  # InvalidEvent, or anything a caller's odd object raises while being checked
            with self._counting:
                self.stats.invalid += 1
            self._refuse(self._log_invalid, f"invalid: {exc}",
                         as_event(name, external_customer_id, customer_id, metadata, timestamp, external_id))
            return False
        queued = len(self._queue)
        if queued >= self.max_queue:
            with self._counting:
                self.stats.dropped += 1
            self._refuse(self._log_dropped, f"queue full ({self.max_queue} events)",
                         as_event(name, external_customer_id, customer_id, metadata, timestamp, external_id))
            return False
        # Every accepted event draws one number (atomic): it counts `tracked`, and names the event when the
        # caller gave no external_id (the worker turns it into `{prefix}-{number}`).
        number = next(self._sequence)
        self._queue.append((name, external_customer_id, customer_id, clean, moment, external_id or number))
        if queued + 1 >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event tracked so far was answered by the API (accepted or refused). True if so;
        False at the timeout, or when events are still in the spool (an outage)."""
        return self._flush(timeout, wait_for_spool=True)

    def _flush(self, timeout: float | None, wait_for_spool: bool) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._worker.is_alive():
            return not any(type(entry) is tuple for entry in self._queue)
        marker = _Flush()
        self._queue.append(marker)
        self._wake.set()
        if not marker.done.wait(timeout):
            return False
        while wait_for_spool and self._spool is not None and self._spool.files():
            if deadline is not None and time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.01)
        return True

    def close(self) -> None:
        """Flush (within `close_timeout`), stop the worker; spool or report what is still unsent."""
        if self._closed:
            return
        self._closed = True
        # What is on disk is safe: closing waits for memory only (the spool is sent by the next buffer).
        self._flush(self.close_timeout, wait_for_spool=False)
        self._stopping.set()
        self._wake.set()
        self._worker.join(self.close_timeout)
        if self._worker.is_alive():
            self._rescue()
        self._http.close()

    def __enter__(self) -> IngestionBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def queued(self) -> int:
        return sum(1 for entry in self._queue if type(entry) is tuple)

    def _refuse(self, log: _Throttle, reason: str, event: dict[str, Any]) -> None:
        """track() said no: log (throttled) and tell on_rejected; nothing here may raise into the caller."""
        with contextlib.suppress(Exception):
            log(logging.WARNING, "meterbill: refused event %r: %s", str(event.get("name"))[:128], reason)
        self._report(event, reason)

    def _report(self, event: dict[str, Any], reason: str) -> None:
        if self.on_rejected is None:
            return
        try:
            self.on_rejected(event, reason)
        except Exception:
            self.stats.errors += 1
            logger.exception("meterbill: on_rejected raised")

    # The worker thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            try:
                self._wake.wait(self._next_wait())
                self._wake.clear()
                self._cycle()
            except Exception:
                self.stats.errors += 1
                logger.exception("meterbill: ingestion worker error (carrying on)")
                self._stopping.wait(0.1)  # a persistent fault must not spin the CPU
            if stopping:  # the cycle after close() asked to stop was the last
                return

    def _next_wait(self) -> float:
        if self._stopping.is_set():
            return 0.0
        if self._outage and self._spool is not None:
            return max(0.0, min(self.flush_interval, self._probe_at - time.monotonic()))
        return self.flush_interval

    def _cycle(self) -> None:
        if self._spool is not None:
            self._drain_spool()
        while True:
            items, markers = self._take()
            if not items and not markers:
                return
            try:
                if items:
                    self._handle(items)
            except Exception as exc:  # our own bug: the worker goes on, and these events are accounted for
                self.stats.errors += 1
                logger.exception("meterbill: failed to handle a batch")
                self._give_up([encode(item, self._prefix) for item in items], f"internal error: {exc!r}")
            finally:
                for marker in markers:
                    marker.done.set()

    def _take(self) -> tuple[list[tuple[Any, ...]], list[_Flush]]:
        items: list[tuple[Any, ...]] = []
        markers: list[_Flush] = []
        while len(items) < self.batch_size:
            try:
                entry = self._queue.popleft()
            except IndexError:
                break
            if type(entry) is tuple:
                items.append(entry)
            else:
                markers.append(entry)
        return items, markers

    def _handle(self, items: list[tuple[Any, ...]]) -> None:
        lines: list[str] = []
        for item in items:
            try:
                lines.append(encode(item, self._prefix))
            except Exception as exc:  # checked at track(), so only an exotic value slips through; alone
                self.stats.rejected += 1
                self._report(as_event(*item), f"invalid: cannot encode: {exc}")
        batch: list[str] = []
        size = 0
        for line in lines:
            if batch and size + len(line) > self.max_batch_bytes:
                self._send_or_keep(batch)
                batch, size = [], 0
            batch.append(line)
            size += len(line) + 1
        if batch:
            self._send_or_keep(batch)

    def _send_or_keep(self, lines: list[str]) -> None:
        if self._spool is not None and self._outage:
            self._keep(lines)  # the API is known to be down: do not wait a retry budget per batch
            return
        stopping = self._stopping.is_set()
        self._in_flight = lines
        unsent = self._deliver(lines, attempts=1 if stopping and self._spool is not None else self.max_retries + 1)
        self._in_flight = []
        if unsent:
            if self._spool is not None:
                self._keep(unsent)
                self._enter_outage()
            else:
                self._give_up(unsent, f"gave up after {self.max_retries + 1} attempts (API unreachable)")

    def _keep(self, lines: list[str]) -> None:
        try:
            written = self._spool is not None and self._spool.write(lines)
        except OSError as exc:
            logger.error("meterbill: cannot write the spool: %s", exc)
            written = False
        if written:
            self.stats.spooled += len(lines)
        else:
            self._give_up(lines, "spool full or unwritable")

    def _enter_outage(self) -> None:
        if not self._outage:
            logger.warning("meterbill: API unreachable; spooling events to %s until it answers",
                           self._spool.directory if self._spool else None)
        self._outage = True
        self._probes += 1
        self._probe_at = time.monotonic() + min(self.backoff_max, self.backoff_base * 2 ** min(self._probes, 20))

    def _drain_spool(self) -> None:
        """Send spooled batches, oldest first: one single-attempt request per file (a probe while in outage)."""
        assert self._spool is not None
        if self._outage and time.monotonic() < self._probe_at:
            return
        for path in self._spool.files():
            claim = self._spool.claim(path)
            if claim is None:
                continue
            try:
                unsent = self._deliver(claim.lines, attempts=1)
            except BaseException:
                claim.release()
                raise
            if unsent:
                claim.keep(unsent)
                self._enter_outage()
                return
            claim.done()
            if self._outage:
                logger.warning("meterbill: API answering again; sending the spool")
            self._outage, self._probes = False, 0

    def _deliver(self, lines: list[str], attempts: int) -> list[str]:
        """Send these events until the API has answered for each one (accepted or refused). Returns the ones
        it never answered for (unreachable after `attempts`, or a misconfigured client)."""
        pending = [lines]
        unsent: list[str] = []
        while pending:
            chunk = pending.pop()
            response = self._post(chunk, attempts)
            if response is None:
                unsent.extend(chunk)
                continue
            status = response.status_code
            if status < 300:
                self._accepted(chunk, response)
                continue
            if status in MISCONFIGURED and self._spool is not None:
                logger.error("meterbill: ingest answered HTTP %d (%s); keeping the events", status,
                             response.text[:300])
                unsent.extend(chunk)
                continue
            refused = self._refused_events(response, len(chunk)) if status == 422 else {}
            if refused:
                for index, reason in refused.items():
                    self._reject([chunk[index]], f"refused by the API: {reason}")
                rest = [line for index, line in enumerate(chunk) if index not in refused]
                if rest:
                    pending.append(rest)  # resent at once: they were not the problem
            elif status in SPLITTABLE and len(chunk) > 1:
                middle = len(chunk) // 2
                pending += [chunk[middle:], chunk[:middle]]
            else:
                self._reject(chunk, f"refused by the API: HTTP {status}: {response.text[:300]}")
        return unsent

    def _post(self, lines: list[str], attempts: int) -> httpx.Response | None:
        """One request with retries; the response, or None if the API never answered something final."""
        body = ('{"events":[' + ",".join(lines) + "]}").encode()
        delay = self.backoff_base
        for attempt in range(attempts):
            if attempt:
                stopping = self._stopping.is_set()
                if stopping and (self._spool is not None or attempt > 2):
                    return None  # closing: the spool (or the caller's exit) will not wait a whole budget
                self.stats.retries += 1
                pause = random.uniform(0, delay)  # full jitter
                if stopping:
                    time.sleep(min(pause, 0.2))
                else:
                    self._stopping.wait(pause)
            delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt + 1))
            try:
                response = self._http.post("/v1/events/ingest", content=body)
            except httpx.HTTPError as exc:
                logger.warning("meterbill: ingest request failed (%s: %s)", type(exc).__name__, exc)
                continue
            except Exception:  # a bug below us (transport, TLS, proxy...): as transient as a network error
                self.stats.errors += 1
                logger.exception("meterbill: ingest request raised")
                continue
            if response.status_code not in RETRYABLE:
                return response
            retry_after = response.headers.get("retry-after", "")
            if retry_after.isdigit():
                delay = max(delay, min(float(retry_after), self.backoff_max))
            logger.warning("meterbill: ingest answered HTTP %d; retrying", response.status_code)
        return None

    def _accepted(self, chunk: list[str], response: httpx.Response) -> None:
        try:
            body = response.json()
            inserted, duplicates = int(body.get("inserted", 0)), int(body.get("duplicates", 0))
        except (ValueError, AttributeError, TypeError):
            inserted, duplicates = len(chunk), 0
        self.stats.sent += inserted + duplicates
        self.stats.duplicates += duplicates
        self.stats.batches += 1

    @staticmethod
    def _refused_events(response: httpx.Response, count: int) -> dict[int, str]:
        """{index in the batch: reason} from a 422's `detail`; only errors that name an event."""
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            return {}
        refused: dict[int, str] = {}
        for error in detail if isinstance(detail, list) else []:
            loc = error.get("loc") if isinstance(error, dict) else None
            if (isinstance(loc, list) and len(loc) >= 3 and loc[:2] == ["body", "events"]
                    and type(loc[2]) is int and 0 <= loc[2] < count):
                field = ".".join(str(part) for part in loc[3:]) or "event"
                reason = f"{field}: {error.get('msg', 'invalid')}"
                refused[loc[2]] = f"{refused[loc[2]]}; {reason}" if loc[2] in refused else reason
        return refused

    def _reject(self, lines: list[str], reason: str) -> None:
        self.stats.rejected += len(lines)
        logger.warning("meterbill: the API refused %d event(s): %s", len(lines), reason)
        self._report_lines(lines, reason)

    def _give_up(self, lines: list[str], reason: str) -> None:
        self.stats.failed += len(lines)
        logger.error("meterbill: %d event(s) lost: %s", len(lines), reason)
        self._report_lines(lines, reason)

    def _report_lines(self, lines: list[str], reason: str) -> None:
        if self.on_rejected is not None:
            for line in lines:
                self._report(json.loads(line), reason)

    def _rescue(self) -> None:
        """close() timed out with the worker still busy: keep what is in memory (the batch in flight too: if
        the API did get it, the resend is a duplicate the API ignores)."""
        lines = list(self._in_flight)
        while True:
            try:
                entry = self._queue.popleft()
            except IndexError:
                break
            if type(entry) is tuple:
                lines.append(encode(entry, self._prefix))
        if not lines:
            return
        if self._spool is not None:
            self._keep(lines)
        else:
            self._give_up(lines, "still unsent when the buffer closed")
