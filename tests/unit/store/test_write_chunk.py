"""How the store reads a cancelled ingest transaction: duplicate events are answered, a closed period is the
domain error PeriodClosed naming its aggregates, a quantity bucket's refused condition is neither. DynamoDB's
answer is scripted (one reason per action: events, aggregates, then the bucket); no AWS."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.common.errors import PeriodClosed
from functions.store import aggregates, dynamo
from functions.store.aggregates import AggregateDelta
from functions.store.buckets import BucketDelta
from functions.store.events import EventRecord
from functions.store.partial import Partial

PERIOD = "2026-11-01T00:00:00Z"
OPEN, CLOSED = ("c1", "m-open", PERIOD), ("c1", "m-closed", PERIOD)
EVENTS = [EventRecord(id=f"e{i}", customer_id="c1", name="api", timestamp="2026-11-10T12:00:00Z", external_id=None,
                      metadata={}, ingested_at="2026-11-10T12:00:01Z", period_key=PERIOD, meter_seq=2, late=False)
          for i in (1, 2)]
DELTAS = [AggregateDelta(key=k, period_end="2026-12-01T00:00:00Z", partial=Partial(count=2, total=Decimal(0)),
                         prior=None) for k in (OPEN, CLOSED)]
BUCKETS = [BucketDelta(key=("c1", "m-open", "H", "2026-11-10T12", 1), partial=Partial(count=2, maximum=Decimal(4)))]
PASSED = {"Code": "None"}
DUPLICATE = {"Code": "ConditionalCheckFailed"}
CLOSED_ITEM = {"Code": "ConditionalCheckFailed", "Item": {"closed": {"BOOL": True}, "v": {"N": "3"}}}
MOVED_ITEM = {"Code": "ConditionalCheckFailed", "Item": {"v": {"N": "3"}}}  # a min/max/last moved meanwhile


def cancelled(monkeypatch: pytest.MonkeyPatch, reasons: list[dict]) -> None:
    monkeypatch.setattr(dynamo, "table_name", lambda: "table")
    monkeypatch.setattr(dynamo, "transact", lambda actions: reasons)


@pytest.mark.parametrize("reasons", [
    [PASSED, PASSED, PASSED, CLOSED_ITEM, PASSED],
    [PASSED, DUPLICATE, MOVED_ITEM, CLOSED_ITEM, MOVED_ITEM],  # the duplicate is named again by the retry
])
def test_a_closed_aggregate_is_period_closed_naming_it(monkeypatch: pytest.MonkeyPatch, reasons: list[dict]) -> None:
    cancelled(monkeypatch, reasons)
    with pytest.raises(PeriodClosed) as raised:
        aggregates.write_chunk("org", EVENTS, DELTAS, BUCKETS)
    assert raised.value.keys == {CLOSED}


def test_without_a_closed_aggregate_the_duplicates_are_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    cancelled(monkeypatch, [DUPLICATE, PASSED, MOVED_ITEM, PASSED, PASSED])
    result = aggregates.write_chunk("org", EVENTS, DELTAS, BUCKETS)
    assert (result.committed, result.duplicates) == (False, {"e1"})


HELD = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


@pytest.mark.parametrize(("reasons", "held"), [
    ([PASSED, PASSED, HELD, PASSED, PASSED], True),  # another transaction held an aggregate: send the same one again
    ([PASSED, PASSED, HELD, MOVED_ITEM, PASSED], False),  # a condition refused too: what was read no longer stands
    ([DUPLICATE, PASSED, HELD, PASSED, PASSED], False),
    ([PASSED, PASSED, HELD, PASSED, MOVED_ITEM], False),  # a bucket's max moved past ours: re-read
])
def test_a_chunk_only_held_by_another_transaction_says_so(monkeypatch: pytest.MonkeyPatch, reasons: list[dict],
                                                           held: bool) -> None:
    cancelled(monkeypatch, reasons)
    result = aggregates.write_chunk("org", EVENTS, DELTAS, BUCKETS)
    assert (result.committed, result.held) == (False, held)


def test_a_refused_bucket_is_neither_a_duplicate_nor_a_closed_period(monkeypatch: pytest.MonkeyPatch) -> None:
    cancelled(monkeypatch, [PASSED, PASSED, PASSED, PASSED, MOVED_ITEM])
    result = aggregates.write_chunk("org", EVENTS, DELTAS, BUCKETS)
    assert (result.committed, result.duplicates, result.held) == (False, set(), False)
