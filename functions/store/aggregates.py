"""Per (customer, meter, period) aggregates, and the ingest transaction that writes them with their events.

Aggregate    PK AGG#{org}#{customer}   SK PERIOD#{period start}#{meter}        (shard 0)
                                       SK PERIOD#{period start}#{meter}#{k}    (shard k, 1 <= k < AGGREGATE_SHARDS)
(attribute names: functions/store/attributes.py). A writer updates one shard item; a read sums them
(`merged_shards`); the cycle close closes every one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from functions.common.errors import Conflict, PeriodClosed, StoreRefused
from functions.store import dynamo
from functions.store.attributes import (
    AGGREGATE_BACKFILLED_COUNT,
    AGGREGATE_BACKFILLED_SUM,
    AGGREGATE_CLOSED,
    AGGREGATE_COUNT,
    AGGREGATE_LAST_AT,
    AGGREGATE_LAST_VALUE,
    AGGREGATE_LATE,
    AGGREGATE_MAX,
    AGGREGATE_METER,
    AGGREGATE_MIN,
    AGGREGATE_PERIOD_END,
    AGGREGATE_PERIOD_START,
    AGGREGATE_SUM,
    AGGREGATE_UNIQUE,
    AGGREGATE_VERSION,
)
from functions.store.buckets import BucketDelta, bucket_update
from functions.store.codec import decimal_attr, to_item
from functions.store.events import EventRecord, event_puts
from functions.store.keys import (
    AGGREGATE_SHARDS,
    AGGREGATE_SK_LAST,
    AGGREGATE_SK_PREFIX,
    AggregateKey,
    aggregate_key,
    aggregate_period_sk,
    aggregate_pk,
    customer_of_aggregate_pk,
    split_aggregate_sk,
)
from functions.store.markers import marker_put
from functions.store.partial import Partial
from functions.store.stored_state import StateUpdate, int_attribute, state_update, stored_partial

__all__ = ["AggregateDelta", "AggregateKey", "ChunkResult", "StoredAggregate"]


@dataclass(frozen=True, slots=True)
class StoredAggregate:
    customer_id: str
    meter_id: str
    period_key: str
    period_end: str
    version: int = 0
    closed: bool = False
    state: Partial = field(default_factory=Partial)
    unique_count: int = 0
    late_count: int = 0
    # What backfills of this meter have added (count, sum), so that a later catch-up adds only the difference.
    backfilled_count: int = 0
    backfilled_total: Decimal = Decimal(0)
    shard: int = 0  # the item's (0 for shards merged: `version` is then shard 0's)
    # Merged: the version of each shard item read (None: no such item), what the close guards on.
    read_versions: tuple[int | None, ...] = ()

    @property
    def key(self) -> AggregateKey:
        return (self.customer_id, self.meter_id, self.period_key)

    def shard_versions(self) -> tuple[int | None, ...]:
        """The version of each shard's item, shard 0 first (one item read, unmerged: only its own)."""
        if self.read_versions:
            return self.read_versions
        return tuple(self.version if shard == self.shard else None for shard in range(AGGREGATE_SHARDS))


@dataclass(slots=True)
class AggregateDelta:
    key: AggregateKey
    period_end: str
    partial: Partial
    prior: StoredAggregate | None
    new_markers: list[str] = field(default_factory=list)
    late_count: int = 0
    shard: int = 0  # the item this chunk updates


@dataclass(slots=True)
class ChunkResult:
    committed: bool
    duplicates: set[str] = field(default_factory=set)
    # Cancelled only because another transaction held an item (TransactionConflict), no condition refused: what
    # was read still stands, so the same transaction may be sent again.
    held: bool = False


# What every aggregate update sets, adds and requires, made once (every chunk updates each of its aggregates).
_AGGREGATE_SETS = (f"{AGGREGATE_METER} = if_not_exists({AGGREGATE_METER}, :m)",
                   f"{AGGREGATE_PERIOD_START} = if_not_exists({AGGREGATE_PERIOD_START}, :ps)",
                   f"{AGGREGATE_PERIOD_END} = if_not_exists({AGGREGATE_PERIOD_END}, :pe)")
_AGGREGATE_ADDS = (f"{AGGREGATE_VERSION} :one",)
_NOT_CLOSED = f"attribute_not_exists({AGGREGATE_CLOSED})"


def _aggregate_update(org_id: str, delta: AggregateDelta) -> dict[str, Any]:
    customer_id, meter_id, period_key = delta.key
    update = StateUpdate(
        sets=list(_AGGREGATE_SETS), adds=list(_AGGREGATE_ADDS), conditions=[_NOT_CLOSED],
        values={":m": {"S": meter_id}, ":ps": {"S": period_key}, ":pe": {"S": delta.period_end}, ":one": {"N": "1"}},
    )
    state_update(delta.partial, delta.prior.state if delta.prior else None, update)
    if delta.late_count:
        update.adds.append(f"{AGGREGATE_LATE} :late")
        update.values[":late"] = {"N": str(delta.late_count)}
    if delta.new_markers:
        update.adds.append(f"{AGGREGATE_UNIQUE} :u")
        update.values[":u"] = {"N": str(len(delta.new_markers))}
    return {
        "Update": {
            "TableName": dynamo.table_name(),
            "Key": aggregate_key(org_id, delta.key, delta.shard),
            "UpdateExpression": update.expression(),
            "ConditionExpression": " AND ".join(update.conditions),
            "ExpressionAttributeValues": update.values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def write_chunk(org_id: str, events: Sequence[EventRecord], deltas: list[AggregateDelta], buckets: list[BucketDelta],
                puts: list[dict[str, Any]] | None = None) -> ChunkResult:
    """One transaction: every event put (new ids only), every aggregate update, every quantity bucket's update,
    every new unique marker. A bucket's min/max/last moved past ours cancels it like an aggregate's.

    Cancelled, it answers the duplicate events, or raises PeriodClosed naming the closed aggregates (the
    duplicates the same cancellation named are named again by the retry: their puts fail the same way).
    `puts`: the events' puts as `event_puts` made them, when the caller encoded them ahead."""
    actions = list(puts) if puts is not None else event_puts(org_id, events)
    actions += [_aggregate_update(org_id, d) for d in deltas]
    actions += [bucket_update(org_id, b) for b in buckets]
    for delta in deltas:
        actions += [marker_put(org_id, delta.key, marker) for marker in delta.new_markers]
    if not actions:
        return ChunkResult(committed=True)
    reasons = dynamo.transact(actions)
    if reasons is None:
        return ChunkResult(committed=True)
    refused = [r for r in reasons if r.get("Code") == "ValidationError"]
    if refused or len(reasons) != len(actions):
        # A number DynamoDB cannot hold (a sum beyond 38 digits) is no race: retrying would fail the same way for
        # ever and read as contention. AWS reports it as a ValidationError reason (DynamoDB Local as a plain
        # ValidationException, which dynamo.transact raises as StoreRefused); a real cancellation carries one
        # reason per action. Nothing of the chunk was written either way.
        detail = refused[0].get("Message", "ValidationError") if refused else "not a transaction conflict"
        raise StoreRefused(f"the store refused the write ({detail})")
    codes = {r.get("Code") for r in reasons}
    held = "TransactionConflict" in codes and codes <= {"TransactionConflict", "None"}
    result = ChunkResult(committed=False, held=held)
    closed = set()
    for index, reason in enumerate(reasons):
        if reason.get("Code") != "ConditionalCheckFailed":
            continue
        if index < len(events):
            result.duplicates.add(events[index].id)
        elif index < len(events) + len(deltas):
            delta = deltas[index - len(events)]
            old = reason.get("Item") or {}
            if old.get(AGGREGATE_CLOSED, {}).get("BOOL"):
                closed.add(delta.key)
    if closed:
        raise PeriodClosed(closed)
    return result


def decode_aggregate(item: dict[str, Any]) -> StoredAggregate:
    customer_id = customer_of_aggregate_pk(item["PK"]["S"])
    meter_id, period_key, shard = split_aggregate_sk(item["SK"]["S"])
    state = stored_partial(item)
    return StoredAggregate(
        customer_id=customer_id,
        meter_id=meter_id,
        period_key=period_key,
        period_end=item.get(AGGREGATE_PERIOD_END, {}).get("S", ""),
        version=int_attribute(item, AGGREGATE_VERSION),
        closed=bool(item.get(AGGREGATE_CLOSED, {}).get("BOOL", False)),
        state=state,
        unique_count=int_attribute(item, AGGREGATE_UNIQUE),
        late_count=int_attribute(item, AGGREGATE_LATE),
        backfilled_count=int_attribute(item, AGGREGATE_BACKFILLED_COUNT),
        backfilled_total=decimal_attr(item.get(AGGREGATE_BACKFILLED_SUM)) or Decimal(0),
        shard=shard,
    )


def merged_shards(items: Iterable[StoredAggregate]) -> list[StoredAggregate]:
    """One aggregate per (customer, meter, period) from its shard items: counts, sums, unique and late counts
    add (a unique value's marker is put once, by whichever shard's writer saw it first, so the shards' counts
    are of disjoint values); min and max are the extremes, last the latest by its order key; closed if any
    shard is (the close closes them together); the backfill's fields are shard 0's (only it writes them)."""
    by_key: dict[AggregateKey, list[StoredAggregate]] = {}
    for item in items:
        by_key.setdefault(item.key, []).append(item)
    merged = []
    for shards in by_key.values():
        first = next((a for a in shards if a.shard == 0), None)
        state = Partial()
        versions: list[int | None] = [None] * AGGREGATE_SHARDS
        for shard in shards:
            state.merge(shard.state)
            versions[shard.shard] = shard.version
        one = first or shards[0]
        merged.append(StoredAggregate(
            customer_id=one.customer_id, meter_id=one.meter_id, period_key=one.period_key,
            period_end=next((a.period_end for a in shards if a.period_end), ""),
            version=first.version if first else 0, closed=any(a.closed for a in shards), state=state,
            unique_count=sum(a.unique_count for a in shards), late_count=sum(a.late_count for a in shards),
            backfilled_count=first.backfilled_count if first else 0,
            backfilled_total=first.backfilled_total if first else Decimal(0),
            read_versions=tuple(versions),
        ))
    return merged


def read_aggregates(org_id: str, keys: list[AggregateKey], shard: int = 0) -> dict[AggregateKey, StoredAggregate]:
    """The items of one shard of the aggregates (what a writer of that shard is conditioned against)."""
    found: dict[AggregateKey, StoredAggregate] = {}
    for start in range(0, len(keys), 100):
        for item in dynamo.batch_get([aggregate_key(org_id, k, shard) for k in keys[start : start + 100]]):
            aggregate = decode_aggregate(item)
            found[aggregate.key] = aggregate
    return found


def read_merged(org_id: str, keys: list[AggregateKey]) -> dict[AggregateKey, StoredAggregate]:
    """The aggregates, every shard read and merged."""
    item_keys = [(k, shard) for k in keys for shard in range(AGGREGATE_SHARDS)]
    items = []
    for start in range(0, len(item_keys), 100):
        items += dynamo.batch_get([aggregate_key(org_id, k, s) for k, s in item_keys[start : start + 100]])
    return {a.key: a for a in merged_shards(decode_aggregate(item) for item in items)}


def customer_aggregates(org_id: str, customer_id: str, *, since: str | None = None, period: str | None = None
                        ) -> list[StoredAggregate]:
    """One customer's aggregates, one query whatever the number of events behind them: of the periods starting
    at or after `since`, or of the one period starting at `period`, or (neither) all of them. A read of the
    open periods reads no closed period before them (the sort key starts with the period)."""
    values: dict[str, Any] = {":pk": {"S": aggregate_pk(org_id, customer_id)}}
    if period is not None:
        condition = "PK = :pk AND begins_with(SK, :period)"
        values[":period"] = {"S": aggregate_period_sk(period)}
    else:
        condition = "PK = :pk AND SK BETWEEN :from AND :to"
        values[":from"] = {"S": AGGREGATE_SK_PREFIX + (since or "")}
        values[":to"] = {"S": AGGREGATE_SK_LAST}
    items = dynamo.query_all(TableName=dynamo.table_name(), KeyConditionExpression=condition,
                             ExpressionAttributeValues=values, ConsistentRead=True)
    return merged_shards(decode_aggregate(item) for item in items)


def put_aggregate(org_id: str, aggregate: StoredAggregate, expected_version: int | None) -> None:
    """Backfill: write a recomputed aggregate, guarded by the version read (None: must not exist yet). Raises
    PeriodClosed if the aggregate is closed, Conflict if another writer moved it."""
    state = aggregate.state
    values: dict[str, Any] = {
        AGGREGATE_METER: aggregate.meter_id, AGGREGATE_PERIOD_START: aggregate.period_key,
        AGGREGATE_PERIOD_END: aggregate.period_end, AGGREGATE_VERSION: aggregate.version,
        AGGREGATE_COUNT: state.count, AGGREGATE_SUM: state.total, AGGREGATE_MIN: state.minimum,
        AGGREGATE_MAX: state.maximum, AGGREGATE_LAST_VALUE: state.last_value, AGGREGATE_LAST_AT: state.last_at,
        AGGREGATE_UNIQUE: aggregate.unique_count, AGGREGATE_LATE: aggregate.late_count,
        AGGREGATE_BACKFILLED_COUNT: aggregate.backfilled_count, AGGREGATE_BACKFILLED_SUM: aggregate.backfilled_total,
    }
    request: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Item": {**aggregate_key(org_id, aggregate.key), **to_item(values)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if expected_version is None:
        request["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        request["ConditionExpression"] = f"{AGGREGATE_VERSION} = :v AND attribute_not_exists({AGGREGATE_CLOSED})"
        request["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
    try:
        dynamo.call("put_item", **request)
    except Conflict as exc:
        if dynamo.refused_condition_item(exc).get(AGGREGATE_CLOSED, {}).get("BOOL"):
            raise PeriodClosed({aggregate.key}) from exc
        raise


def close_aggregate_action(org_id: str, key_: AggregateKey, period_end: str, version: int | None, shard: int = 0
                           ) -> dict[str, Any]:
    """The update that closes one shard item of a period's aggregate (the cycle close puts one per shard in its
    transaction): guarded by the version read, or, where the shard had no usage, creating a closed marker that
    must not exist yet (so that no writer starts the shard afterwards)."""
    _, meter_id, period_key = key_
    update: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": aggregate_key(org_id, key_, shard),
        "UpdateExpression": f"SET {AGGREGATE_CLOSED} = :t, {AGGREGATE_METER} = if_not_exists({AGGREGATE_METER}, :m), "
                            f"{AGGREGATE_PERIOD_START} = if_not_exists({AGGREGATE_PERIOD_START}, :ps), "
                            f"{AGGREGATE_PERIOD_END} = if_not_exists({AGGREGATE_PERIOD_END}, :pe) "
                            f"ADD {AGGREGATE_VERSION} :one",
        "ExpressionAttributeValues": {":t": {"BOOL": True}, ":m": {"S": meter_id}, ":ps": {"S": period_key},
                                      ":pe": {"S": period_end}, ":one": {"N": "1"}},
    }
    if version is None:
        update["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        update["ConditionExpression"] = f"{AGGREGATE_VERSION} = :v"
        update["ExpressionAttributeValues"][":v"] = {"N": str(version)}
    return update


def mark_closed(org_id: str, aggregate: StoredAggregate) -> None:
    """Close an aggregate as read (merged: every shard), on its own: what the cycle close does inside its
    transaction. Raises Conflict if a shard moved since it was read."""
    actions = [{"Update": close_aggregate_action(org_id, aggregate.key, aggregate.period_end, version, shard)}
               for shard, version in enumerate(aggregate.shard_versions())]
    if dynamo.transact(actions) is not None:
        raise Conflict("the aggregate moved since it was read")
