"""When a failed delivery is tried again (pure). Polar retries a failing endpoint with backoff for about a day;
here the SQS message that carries the event is made visible again after these delays, and after the last one
it moves to the dead-letter queue (the queue's maxReceiveCount is MAX_ATTEMPTS)."""

from __future__ import annotations

# Seconds before attempt n + 2 (n = attempts made - 1): 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h.
DELAYS = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)
MAX_ATTEMPTS = len(DELAYS) + 1  # 10 attempts over 23 h 41 min
MAX_VISIBILITY = 12 * 3600  # SQS's limit on a message's visibility timeout


def delay_after(attempts: int) -> int:
    """Seconds until the next attempt, after `attempts` failed ones (SQS's ApproximateReceiveCount)."""
    return min(DELAYS[min(max(attempts, 1), len(DELAYS)) - 1], MAX_VISIBILITY)


def total_window() -> int:
    return sum(DELAYS)
