"""Full-jitter backoff bounded by the invocation's remaining time. Pure; the clock and the pause are faked."""

from __future__ import annotations

import pytest

from functions.common import retry
from functions.common.retry import Deadline, full_jitter


def test_full_jitter_spans_zero_to_the_exponential_window_then_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds: list[tuple[float, float]] = []
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: bounds.append((low, high)) or high)
    assert [full_jitter(n, 0.025, 1.0) for n in range(7)] == [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0]
    assert all(low == 0 for low, _ in bounds)  # full jitter: any pause down to none at all


def test_a_pause_is_taken_only_if_the_margin_is_left_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)  # the longest pause of each window
    left = [3500]
    deadline = Deadline(lambda: left[0], margin_ms=3000, base=0.1, cap=1.0)
    assert deadline.pause(2)  # 400 ms: 3,100 ms left after it
    left[0] = 3399
    assert not deadline.pause(2)  # 400 ms would leave 2,999 ms: no pause, the caller answers now
    assert slept == [0.4]
