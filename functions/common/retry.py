"""The pause before retrying after contention, shared by the store and the services that retry a whole read-write."""

from __future__ import annotations

import random
import time


def pause_before_retry(attempt: int) -> None:
    """Full-jitter exponential backoff from 10 ms (attempt 0), so writers that collided don't collide again in step."""
    time.sleep(random.uniform(0, 0.01 * 2**attempt))
