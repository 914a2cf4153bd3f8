"""The close worker's step (functions/billing/close.py, close_batch), without AWS: a failing subscription is handed
back with what follows it (the FIFO rule), what closed before it has its invoices queued and its announcements
published together; a long-overdue one closes every period it is behind."""

from __future__ import annotations

from types import SimpleNamespace

from functions.billing import close
from functions.billing.close import DueClose, close_batch
from functions.common.settings import Settings

AS_OF = "2026-12-01T02:00:00.000000Z"


def _due(name: str) -> DueClose:
    return DueClose("org", name, f"cus-{name}", AS_OF)


def _patch(monkeypatch, results: dict[str, list]) -> dict[str, list]:
    seen: dict[str, list] = {"queued": [], "announced": [], "calls": []}

    def close_subscription(org_id, subscription_id, as_of, cache, clock, customer_id):
        seen["calls"].append((subscription_id, as_of.isoformat(), customer_id))
        outcome = results[subscription_id].pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            cache.announcements.append(f"renewed {subscription_id}")
        invoice = SimpleNamespace(organization_id=org_id, id=f"inv-{subscription_id}-{len(seen['calls'])}")
        return SimpleNamespace(written=outcome is not None, invoice=invoice if outcome else None,
                               next_period_end=outcome)

    monkeypatch.setattr(close, "close_subscription", close_subscription)
    monkeypatch.setattr(close, "publish_later", lambda settings, invoices: seen["queued"].append(list(invoices)))
    monkeypatch.setattr(close.announcements, "publish_together", lambda written: seen["announced"].append(written))
    return seen


def test_a_failing_subscription_is_handed_back_with_what_follows_it(monkeypatch) -> None:
    seen = _patch(monkeypatch, {"a": ["2027-01-01T00:00:00.000000Z"], "b": [RuntimeError("boom")],
                                "c": [None], "d": [None]})
    batch = [_due("a"), _due("b"), _due("c"), _due("d")]
    outcome = close_batch(Settings(table_name="t", grace_period_seconds=3600), batch)
    assert (outcome.closed, outcome.skipped, outcome.failed) == (1, 0, [1, 2, 3])
    assert [call[0] for call in seen["calls"]] == ["a", "b"]  # c and d are not taken before b
    assert seen["queued"] == [[("org", "inv-a-1")]]
    assert seen["announced"] == [["renewed a"]]
    # Closed as of the run's time less the grace period, with the customer the due index named.
    assert seen["calls"][0] == ("a", "2026-12-01T01:00:00+00:00", "cus-a")


def test_a_long_overdue_subscription_closes_every_period_it_is_behind(monkeypatch) -> None:
    seen = _patch(monkeypatch, {"old": ["2026-10-01T00:00:00.000000Z", "2026-11-01T00:00:00.000000Z",
                                        "2026-12-01T00:30:00.000000Z", "2027-01-01T00:00:00.000000Z"]})
    outcome = close_batch(Settings(table_name="t", grace_period_seconds=3600), [_due("old")])
    # The third renewal's next end (00:30) is before the cutoff (01:00): a fourth close; its next end is not.
    assert (outcome.closed, outcome.failed) == (4, [])
    assert [invoice for _, invoice in seen["queued"][0]] == ["inv-old-1", "inv-old-2", "inv-old-3", "inv-old-4"]


def test_a_close_message_reads_back_what_the_run_wrote_and_is_grouped_by_organization() -> None:
    due = _due("x")
    assert DueClose.from_message(due.message()) == due
    group, dedup = DueClose.fifo_ids(due.message())
    assert group == "org" and dedup == f"x@{AS_OF}"
    assert DueClose.fifo_ids(DueClose("org", "x", "cus-x", "2026-12-01T02:15:00.000000Z").message())[1] != dedup


def test_a_worker_environment_reuses_what_it_read_for_a_minute_with_its_own_announcements(monkeypatch) -> None:
    monkeypatch.setattr(close, "_kept", None)
    first = close._worker_cache(lambda: 1000.0)
    first.tax_rates["org"] = []
    first.announcements.append("renewed a")  # type: ignore[union-attr]
    later = close._worker_cache(lambda: 1000.0 + close.CACHE_SECONDS)
    assert later.tax_rates == {"org": []} and later.announcements == []
    assert close._worker_cache(lambda: 1001.0 + close.CACHE_SECONDS * 2).tax_rates == {}
