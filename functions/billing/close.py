"""The cycle close, fanned out on SQS: the scheduled run lists what is due, close workers close it, the invoice
publisher renders and announces the invoices.

- `dispatch` (the scheduled cycle-close Lambda) reads the subscriptions due from GSI1 (never a Scan) and puts
  them on the close queue, 10 to a SendMessageBatch; near its time limit it hands the rest (a position in the
  due index) to a fresh invocation. Then it sweeps what earlier work left: invoices not published, announcements
  not published, threshold signals, meter backfills.
- `close_batch` (the close worker Lambda, fed by the close queue) closes each subscription of its batch, every
  period it is behind, then queues its invoices for the publisher and publishes its renewals' announcements,
  both in batches. The close queue is FIFO with one message group per organization (`DueClose.fifo_ids`), so
  one organization's closes never contend for its invoice counter. A subscription that fails is reported back
  to SQS with the rest of its batch, retried after the queue's visibility timeout, and after the last attempt
  kept on the dead-letter queue (whose alarm says so); it is still due, so the next scheduled run queues it
  again.
- A subscription queued twice (a run that overlaps the last one's backlog, a message delivered twice) closes
  once: the close's transaction is guarded by the period it read, and the second finds it not due.

An invoice stays on the UNRENDERED index until it is published, so one whose queueing a crash lost is queued
again by a later run's sweep: published at least once, and the S3 keys, the event's id and the publisher's
check of what is published make a repeat harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from functions.adapters import sqs
from functions.billing import announcements
from functions.billing.closing import RunCache, close_subscription
from functions.billing.invoices import publish_later, queue_pending
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.settings import Settings
from functions.meters import service as meters
from functions.store import billing as store
from functions.thresholds import service as thresholds

logger = Logger()


SAFETY_MS = 60_000  # hand the rest over when less than this is left (a quarter of a shorter timeout)
QUEUE_BATCH = 10  # due subscriptions a SendMessageBatch carries (SQS's limit); time is checked between two
MAX_PERIODS = 120  # a long-overdue subscription closes one period per pass until it is current
# How long a worker's environment reuses what it read for earlier batches (products, discounts, tax rates, meters,
# sellers, invoice counters): a batch mixes organizations, so a cache per batch read them again for almost every
# subscription. A stale counter costs a retry (its update is guarded by the value read); the other entries are as
# fresh as a single run's were when one invocation closed everything (up to 15 minutes).
CACHE_SECONDS = 60
_kept: tuple[float, RunCache] | None = None


class TimeBudget:
    """Answers "is there time for one more step?" for the run and its sweeps. The margin kept back is the larger
    of the fixed one and twice the slowest step seen so far (the time between two questions is one step): on a
    slow, loaded host one step can take longer than a fixed margin of a short timeout."""

    def __init__(self, remaining_ms: Callable[[], int] | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._remaining_ms = remaining_ms
        self._clock = clock
        self._margin_ms = min(SAFETY_MS, remaining_ms() // 4) if remaining_ms else 0
        self._slowest_ms = 0.0
        self._asked_at: float | None = None

    def has_time(self) -> bool:
        if not self._remaining_ms:
            return True
        now = self._clock()
        if self._asked_at is not None:
            self._slowest_ms = max(self._slowest_ms, (now - self._asked_at) * 1000)
        self._asked_at = now
        return self._remaining_ms() >= max(self._margin_ms, 2 * self._slowest_ms)


@dataclass(frozen=True)
class DueClose:
    """One close queue message: a subscription due as of the run's time."""

    organization_id: str
    subscription_id: str
    customer_id: str
    as_of: str

    def message(self) -> dict[str, str]:
        return {"organization_id": self.organization_id, "subscription_id": self.subscription_id,
                "customer_id": self.customer_id, "as_of": self.as_of}

    @staticmethod
    def fifo_ids(message: dict[str, str]) -> tuple[str, str]:
        """The close queue is FIFO, grouped by organization: an organization's closes run one at a time, since each
        takes the next number of its invoice counter (concurrent workers on one organization only cancelled each
        other's transactions: 8.8 DynamoDB requests a subscription instead of 3.5, measured). The same
        subscription queued again as of the same time within SQS's 5-minute window is dropped."""
        return message["organization_id"], f"{message['subscription_id']}@{message['as_of']}"

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> DueClose:
        return cls(body["organization_id"], body["subscription_id"], body["customer_id"], body["as_of"])


def dispatch(settings: Settings, as_of: datetime, remaining_ms: Callable[[], int] | None = None,
             after: str | None = None) -> dict[str, Any]:
    """Queues every subscription due as of `as_of` for the close workers. With `remaining_ms`, stops while time is
    left and returns `continue_after` (the position reached): a fresh invocation continues from there."""
    cutoff = as_of - timedelta(seconds=settings.grace_period_seconds)
    has_time = TimeBudget(remaining_ms).has_time
    queued = 0
    batch: list[DueClose] = []
    reached = after  # the position of the last subscription queued

    def send(upto: str | None) -> None:
        nonlocal queued, reached
        sqs.send_batch(settings.close_queue_url, [d.message() for d in batch], DueClose.fifo_ids)
        queued += len(batch)
        reached = upto
        batch.clear()

    position = after
    for due in store.due_subscriptions(iso(cutoff), after):
        if not batch and not has_time():
            return {"as_of": iso(as_of), "queued": queued, "continue_after": reached}
        batch.append(DueClose(due.organization_id, due.subscription_id, due.customer_id, iso(as_of)))
        position = due.position
        if len(batch) == QUEUE_BATCH:
            send(position)
    if batch:
        send(position)
    # The sweeps stop with the run's margin too: what they leave, the next run (15 minutes later) takes; without
    # the check, a sweep with a long backlog ran the invocation into its timeout, and each retry (same position,
    # same backlog) again, until the event was dropped.
    requeued = queue_pending(settings, has_time)
    # What a worker that crashed, or whose bus call failed, left on the outbox.
    announced = announcements.publish_pending(has_time)
    signals = thresholds.publish_pending(has_time=has_time)
    backfills = meters.catch_up_backfills(utcnow(), has_time)
    return {"as_of": iso(as_of), "queued": queued, "continue_after": None, "invoices_requeued": requeued,
            "announced": announced, "threshold_signals_republished": signals, "backfills_caught_up": backfills}


def _worker_cache(clock: Callable[[], float] = time.monotonic) -> RunCache:
    """The environment's cache (younger than CACHE_SECONDS), with a fresh list for this batch's announcements."""
    global _kept
    now = clock()
    if _kept is None or now - _kept[0] > CACHE_SECONDS:
        _kept = (now, RunCache())
    return replace(_kept[1], announcements=[])


@dataclass
class BatchOutcome:
    closed: int = 0  # periods closed (a long-overdue subscription closes several)
    skipped: int = 0  # already closed, no longer active or not due
    # Positions in the batch handed back to SQS: the first that raised and every one after it (a FIFO queue's
    # rule: what follows a failure in its group must not be taken before it).
    failed: list[int] = field(default_factory=list)


def close_batch(settings: Settings, batch: list[DueClose]) -> BatchOutcome:
    """The close worker's step: each subscription of the batch closed as of its run's time; then the invoices
    written are queued for the publisher and the renewals' announcements published, each in batches. Neither
    after-step raises: what they could not do stays on the UNRENDERED index and the outbox for the sweeps."""
    cache = _worker_cache()
    outcome = BatchOutcome()
    invoices: list[tuple[str, str]] = []
    for index, due in enumerate(batch):
        as_of = parse_iso(due.as_of)
        cutoff = as_of - timedelta(seconds=settings.grace_period_seconds)

        def run_time(as_of: datetime = as_of) -> datetime:
            return as_of

        try:
            for _ in range(MAX_PERIODS):
                # Issued as of the run's time: `close-cycles --as-of T` writes invoices dated T, not today.
                result = close_subscription(due.organization_id, due.subscription_id, cutoff, cache,
                                            clock=run_time, customer_id=due.customer_id)
                if not result.written:
                    outcome.skipped += 1
                    break
                outcome.closed += 1
                if result.invoice:
                    invoices.append((result.invoice.organization_id, result.invoice.id))
                if result.next_period_end is None or result.next_period_end > iso(cutoff):
                    break
        except Exception:
            # SQS gives it back after the visibility timeout with what followed it, and after the last attempt
            # moves it to the dead-letter queue, which unblocks its organization; it is still due, so the next
            # run queues it again.
            logger.exception("closing failed", extra={"subscription_id": due.subscription_id,
                                                      "organization_id": due.organization_id})
            outcome.failed = list(range(index, len(batch)))
            break
    try:
        if invoices:
            publish_later(settings, invoices)
    except Exception:
        logger.exception("invoices not queued for publishing; the sweep queues them", extra={"count": len(invoices)})
    announcements.publish_together(cache.announcements or [])
    return outcome
