"""The cycle close's sweeps after its closes (unrendered invoices, unannounced crossings, pending backfills) stop
when the invocation's margin is reached, instead of running it into its timeout (each retry would meet the same
backlog and time out again)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from functions.billing import invoices
from functions.meters import service as meters
from functions.store.entities import Meter
from functions.thresholds import service as thresholds


def _budget(calls: int):
    """has_time() that answers True `calls` times, then False."""
    seen = count()
    return lambda: next(seen) < calls


def test_the_invoice_sweep_stops_when_time_is_short_and_queues_only_what_waited(monkeypatch) -> None:
    queued, asked = [], []

    def unrendered(written_before: str):
        asked.append(written_before)
        return iter([("o", f"i{n}") for n in range(10)])

    monkeypatch.setattr(invoices.store, "unrendered_invoices", unrendered)
    monkeypatch.setattr(invoices, "publish_later", lambda config, pending: queued.append(list(pending)))
    monkeypatch.setattr(invoices, "utcnow", lambda: datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    assert invoices.queue_pending(None, _budget(3)) == 3  # type: ignore[arg-type]
    assert queued == [[("o", "i0"), ("o", "i1"), ("o", "i2")]]
    assert asked == ["2026-12-01T11:45:00.000000Z"]  # only invoices written 15 minutes ago or more
    assert invoices.queue_pending(None) == 10  # type: ignore[arg-type]  # without a budget: all


def test_the_crossing_and_backfill_sweeps_stop_when_time_is_short(monkeypatch) -> None:
    announced, backfilled = [], []
    monkeypatch.setattr(thresholds.store, "pending", lambda before: [f"c{n}" for n in range(5)])
    monkeypatch.setattr(thresholds, "publish", announced.append)
    assert thresholds.publish_pending(has_time=_budget(2)) == 2 and announced == ["c0", "c1"]
    monkeypatch.setattr(meters.store, "pending_backfills", lambda before: iter([("o", f"m{n}") for n in range(4)]))
    monkeypatch.setattr(meters.store, "get", lambda org_id, meter_id: Meter(
        id=meter_id, organization_id=org_id, seq=1, name="n", filter={}, aggregation={"func": "count"},
        created_at="2026-11-01T00:00:00Z", backfill_pending=True))
    monkeypatch.setattr(meters.store, "put", lambda org_id, meter: None)
    monkeypatch.setattr(meters, "backfill", lambda org_id, meter: backfilled.append(meter.id))
    assert meters.catch_up_backfills(datetime(2026, 12, 1, tzinfo=UTC), _budget(1)) == 1 and backfilled == ["m0"]


def test_the_margin_grows_to_twice_the_slowest_step() -> None:
    from functions.billing.close import TimeBudget
    now = [0.0]

    def budget() -> TimeBudget:  # a 4 s invocation started at 0: the fixed margin is a quarter, 1,000 ms
        return TimeBudget(lambda: int(4_000 - now[0] * 1000), clock=lambda: now[0])

    slow = budget()
    assert slow.has_time()
    now[0] = 1.4
    assert not slow.has_time()  # one step took 1,400 ms: 2,600 ms left is less than two more such steps

    now[0] = 0.0
    quick = budget()
    for step in range(1, 29):  # steps of 100 ms go on until the fixed margin
        now[0] = step / 10
        assert quick.has_time() is (4_000 - step * 100 >= 1_000), step
    assert TimeBudget(None).has_time()  # no deadline: always
