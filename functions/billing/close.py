"""The cycle close run: every subscription due (through GSI1, never a Scan), then each invoice published.

Publishing (functions/billing/invoices.py) happens after the invoice's transaction committed. An invoice stays
on the UNRENDERED index until it is published, so a crash in between is repaired by the next run: published at
least once, and the S3 keys and the event's id make a repeat harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from functions.billing import announcements
from functions.billing.closing import RunCache, close_subscription
from functions.billing.invoices import publish_invoice, publish_pending
from functions.common.clock import iso, utcnow
from functions.common.settings import Settings
from functions.meters import service as meters
from functions.store import billing as store
from functions.thresholds import service as thresholds

logger = Logger()


SAFETY_MS = 60_000  # hand the rest over when less than this is left (a quarter of a shorter timeout)


class TimeBudget:
    """Answers "is there time for one more step?" for the close and its sweeps. The margin kept back is the larger
    of the fixed one and twice the slowest step seen so far (the time between two questions is one step): on a
    slow, loaded host one close with its invoice can take longer than a fixed margin of a short timeout."""

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


def run(settings: Settings, as_of: datetime, remaining_ms: Callable[[], int] | None = None,
        after: str | None = None) -> dict[str, Any]:
    """Closes what is due as of `as_of`. With `remaining_ms`, stops while time is left and returns `continue_after`
    (the position reached): a fresh invocation continues from there, so any number of due subscriptions fits."""
    cutoff = as_of - timedelta(seconds=settings.grace_period_seconds)
    cache = RunCache(announce_later=True)
    closed, skipped, failed = 0, 0, 0
    has_time = TimeBudget(remaining_ms).has_time

    for org_id, subscription_id, position, customer_id in store.due_subscriptions(iso(cutoff), after):
        if not has_time():
            return {"as_of": iso(as_of), "closed": closed, "skipped": skipped, "failed": failed,
                    "continue_after": after}
        after = position
        try:
            # A long-overdue subscription closes one period per pass until it is current.
            for _ in range(120):
                # Issued as of the run's time: `close-cycles --as-of T` writes invoices dated T, not today.
                result = close_subscription(org_id, subscription_id, cutoff, cache, clock=lambda: as_of,
                                            customer_id=customer_id)
                if not result.written:
                    skipped += 1
                    break
                closed += 1
                if result.invoice:
                    publish_invoice(settings, result.invoice)
                if result.next_period_end is None or result.next_period_end > iso(cutoff):
                    break
        except Exception:
            # One bad subscription must not stop the others; the alarm on errors and the next run see it.
            logger.exception("closing failed", extra={"subscription_id": subscription_id, "organization_id": org_id})
            failed += 1
    # The sweeps after the closes stop with the closes' margin too: what they leave, the next run (15 minutes
    # later) takes; without the check, a sweep with a long backlog ran the invocation into its timeout, and
    # each retry (same position, same backlog) again, until the event was dropped.
    published = publish_pending(settings, has_time)
    # The renewals' announcements (subscription.updated), and what a crashed writer left, in batches.
    announced = announcements.publish_pending(has_time)
    signals = thresholds.publish_pending(has_time=has_time)
    backfills = meters.catch_up_backfills(utcnow(), has_time)
    return {"as_of": iso(as_of), "closed": closed, "skipped": skipped, "failed": failed, "continue_after": None,
            "republished": published, "announced": announced, "threshold_signals_republished": signals,
            "backfills_caught_up": backfills}
