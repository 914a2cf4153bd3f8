"""One aggregate spread over shard items: its keys, and how a read merges them. Pure; no AWS."""

from __future__ import annotations

from decimal import Decimal

from functions.store.aggregates import StoredAggregate, merged_shards
from functions.store.keys import AGGREGATE_SHARDS, aggregate_sk, split_aggregate_sk
from functions.store.partial import Partial

PERIOD = "2026-11-01T00:00:00.000000Z"


def shard(k: int, **fields) -> StoredAggregate:
    return StoredAggregate("c1", "m1", PERIOD, "2026-12-01T00:00:00.000000Z", shard=k, **fields)


def test_shard_zero_keeps_the_unsharded_key_and_every_shard_sorts_within_its_period() -> None:
    assert aggregate_sk("m1", PERIOD) == f"PERIOD#{PERIOD}#m1"
    assert [split_aggregate_sk(aggregate_sk("m1", PERIOD, k)) for k in (0, 3)] == [("m1", PERIOD, 0), ("m1", PERIOD, 3)]
    assert all(aggregate_sk("m1", PERIOD, k).startswith(f"PERIOD#{PERIOD}#") for k in range(AGGREGATE_SHARDS))


def test_a_read_adds_counts_and_sums_and_takes_the_extremes_and_the_latest() -> None:
    [merged] = merged_shards([
        shard(0, version=5, state=Partial(count=2, total=Decimal("1.5"), minimum=Decimal(3), maximum=Decimal(9),
                                           last_value=Decimal(7), last_at="2026-11-02T00:00:00Z#b"),
              unique_count=2, late_count=1, backfilled_count=2, backfilled_total=Decimal("1.5")),
        shard(2, version=8, state=Partial(count=3, total=Decimal("2.25"), minimum=Decimal(-1), maximum=Decimal(4),
                                           last_value=Decimal(1), last_at="2026-11-03T00:00:00Z#a"),
              unique_count=1),
        StoredAggregate("c2", "m1", PERIOD, "", shard=1, version=1, state=Partial(count=100)),  # another customer
    ][:2])
    assert (merged.state.count, merged.state.total) == (5, Decimal("3.75"))
    assert (merged.state.minimum, merged.state.maximum, merged.state.last_value) == (-1, 9, 1)
    assert (merged.unique_count, merged.late_count) == (3, 1)
    assert (merged.backfilled_count, merged.backfilled_total) == (2, Decimal("1.5"))  # only shard 0's
    assert merged.shard_versions() == (5, None, 8, None) and merged.version == 5 and not merged.closed


def test_aggregates_of_different_keys_stay_apart_and_one_closed_shard_closes_the_read() -> None:
    merged = merged_shards([shard(1, version=2, closed=True), shard(3, version=4, state=Partial(count=1)),
                            StoredAggregate("c2", "m1", PERIOD, "", shard=1, version=1, state=Partial(count=100))])
    by_customer = {a.customer_id: a for a in merged}
    assert by_customer["c1"].closed and by_customer["c1"].shard_versions() == (None, 2, None, 4)
    assert by_customer["c1"].version == 0  # no shard 0: nothing for a guard on it
    assert by_customer["c2"].state.count == 100 and by_customer["c2"].shard_versions() == (None, 1, None, None)


def test_one_item_read_on_its_own_names_only_its_shard() -> None:
    assert shard(2, version=6).shard_versions() == (None, None, 6, None)
