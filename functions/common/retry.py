"""The pause before retrying after contention, shared by the store and the services that retry a whole read-write.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the pause before retry n is uniform in
[0, min(cap, base * 2^n)]. Writers that collided spread out over the whole window instead of colliding again in
step, and the total work under contention is the lowest of the blog's variants.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


def full_jitter(attempt: int, base: float, cap: float) -> float:
    """Seconds to pause before retry `attempt` (0 for the first retry)."""
    return random.uniform(0, min(cap, base * 2**attempt))


def pause_before_retry(attempt: int) -> None:
    """From 10 ms (attempt 0), for a single write refused while a transaction held its item for milliseconds."""
    time.sleep(full_jitter(attempt, 0.01, 1.0))


def time_budget(milliseconds: int) -> Callable[[], int]:
    """A countdown like a Lambda context's get_remaining_time_in_millis, for callers without one."""
    deadline = time.monotonic() + milliseconds / 1000

    def remaining_ms() -> int:
        return max(0, int((deadline - time.monotonic()) * 1000))

    return remaining_ms


@dataclass(frozen=True, slots=True)
class Deadline:
    """Retries bounded by the time the caller has left (the Lambda invocation's remaining time), not by a count:
    a retry is only started if it can still end `margin_ms` before the deadline, so the caller's answer (the last
    resort, a 409 with Retry-After) gets back before the invocation is cut off."""

    remaining_ms: Callable[[], int]
    margin_ms: int
    # Seconds. The base is about the time a contended 100-action transaction holds its items on the local stack
    # (shorter windows mostly collide again: work that competes with the store for the CPU); the cap keeps a
    # writer that lost many times from sleeping through the time the others leave free.
    base: float = 0.05
    cap: float = 2.0

    def pause(self, attempt: int) -> bool:
        """Pause before retry `attempt`; False, without pausing, when there is no time left for it."""
        delay = full_jitter(attempt, self.base, self.cap)
        if self.remaining_ms() - delay * 1000 < self.margin_ms:
            return False
        time.sleep(delay)
        return True
