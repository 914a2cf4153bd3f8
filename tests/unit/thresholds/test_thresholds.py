"""Threshold rules (pure) and the check after ingest with fake collaborators: one signal per threshold and
period, whoever claims it first; a failed publication is left for the cycle close. No AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.common.clock import iso
from functions.store.aggregates import StoredAggregate
from functions.store.partial import Partial
from functions.store.thresholds import Crossing
from functions.thresholds.rules import reached
from functions.thresholds.service import check
from tests.unit.entities import billing, meter

NOW = datetime(2026, 11, 10, tzinfo=UTC)


@pytest.mark.parametrize("threshold, consumed, credited, expected", [
    ({"type": "units", "value": 100}, "99", "0", False),
    ({"type": "units", "value": 100}, "100", "0", True),
    ({"type": "units", "value": 0.5}, "0.5", "0", True),
    ({"type": "credits_percent", "value": 80}, "79", "100", False),
    ({"type": "credits_percent", "value": 80}, "80", "100", True),
    ({"type": "credits_percent", "value": 80}, "1000", "0", False),  # no credits, no percentage
    ({"type": "balance_below_zero"}, "100", "100", False),
    ({"type": "balance_below_zero"}, "100.5", "100", True),
    ({"type": "unknown"}, "1000", "0", False),
])
def test_rules(threshold: dict, consumed: str, credited: str, expected: bool) -> None:
    assert reached(threshold, Decimal(consumed), Decimal(credited)) is expected


METER = meter("m1", {"func": "count"}, name="calls", thresholds=[
    {"id": "t80", "type": "credits_percent", "value": 80}, {"id": "t-neg", "type": "balance_below_zero"}])
KEY = ("c1", "m1", "2026-11-01T00:00:00Z")


def run(count: int, claimed: set[str], published: list[Crossing], meters: dict | None = None,
        fail: bool = False) -> int:
    def read(org_id: str, keys: list) -> dict:
        return {k: StoredAggregate(*k, period_end="2026-12-01T00:00:00Z", state=Partial(count=count)) for k in keys}

    def claim(org_id: str, crossing: Crossing) -> bool:
        if crossing.id in claimed:
            return False
        claimed.add(crossing.id)
        return True

    def announce(crossing: Crossing) -> None:
        if fail:
            raise RuntimeError("EventBridge is down")
        published.append(crossing)

    states = {("c1", "m1"): billing(credits={"m1": "100"})}
    return check("org", [KEY], meters or {"m1": METER}, lambda c, m: states.get((c, m)), read=read, claim=claim,
                 announce=announce, clock=lambda: NOW)


def test_each_threshold_is_announced_once_per_period() -> None:
    claimed: set[str] = set()
    published: list[Crossing] = []
    assert run(50, claimed, published) == 0
    assert run(85, claimed, published) == 1
    assert run(90, claimed, published) == 0  # still above 80 %: already announced
    assert run(120, claimed, published) == 1  # the balance went below zero
    assert [(c.threshold_id, c.consumed_units, c.balance) for c in published] == [
        ("t80", "85", "15"), ("t-neg", "120", "-20")]
    assert published[0].crossed_at == iso(NOW)  # the clock passed in


def test_meters_without_thresholds_are_not_read() -> None:
    def read(org_id: str, keys: list) -> dict:
        raise AssertionError("nothing to read")

    quiet = {"m1": replace(METER, thresholds=[])}
    assert check("org", [KEY], quiet, lambda c, m: None, read=read) == 0


def test_a_failed_publication_is_left_claimed_for_the_cycle_close() -> None:
    claimed: set[str] = set()
    assert run(85, claimed, [], fail=True) == 0
    assert claimed == {"c1:m1:2026-11-01T00:00:00Z:t80"}
