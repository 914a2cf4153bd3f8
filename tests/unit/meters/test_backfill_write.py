"""A backfill's write of one aggregate, with the store scripted: a period closed since the read is left as it was
invoiced (PeriodClosed ends the write), another writer moving the aggregate makes it read again. No AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.common.errors import Conflict, PeriodClosed
from functions.meters import service
from functions.meters.periods import calendar_month
from functions.store.aggregates import StoredAggregate
from functions.store.partial import Partial

PERIOD = calendar_month(datetime(2026, 11, 10, tzinfo=UTC))
KEY = ("c1", "m1", PERIOD.key)
OPEN = StoredAggregate(*KEY, period_end=PERIOD.end.isoformat(), version=3, state=Partial(count=2))


def scripted(monkeypatch: pytest.MonkeyPatch, refusals: list[Exception]) -> list[tuple[int | None, int]]:
    """The writes tried, as (version expected, count written); each refusal in turn answers one."""
    writes: list[tuple[int | None, int]] = []

    def put_aggregate(org_id: str, aggregate: StoredAggregate, expected_version: int | None) -> None:
        writes.append((expected_version, aggregate.state.count))
        if refusals:
            raise refusals.pop(0)

    monkeypatch.setattr(service.aggregates, "read_aggregates", lambda org_id, keys: {KEY: OPEN})
    monkeypatch.setattr(service.aggregates, "put_aggregate", put_aggregate)
    return writes


def test_a_period_closed_since_the_read_is_left_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    writes = scripted(monkeypatch, [PeriodClosed({KEY})])
    assert service._backfill_aggregate("org", KEY, PERIOD, Partial(count=5, total=Decimal(0))) == 0
    assert writes == [(3, 7)]  # tried once: 2 ingested + 5 backfilled, then nothing more


def test_a_moved_aggregate_is_read_and_written_again(monkeypatch: pytest.MonkeyPatch) -> None:
    writes = scripted(monkeypatch, [Conflict("moved")])
    assert service._backfill_aggregate("org", KEY, PERIOD, Partial(count=5, total=Decimal(0))) == 1
    assert writes == [(3, 7), (3, 7)]
