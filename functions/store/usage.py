"""Events and the per (customer, meter, period) aggregates they feed, written together in one transaction.

Event item   PK EVENT#{org}#{shard}             SK {event id}   (shard from the id; the id from external_id)
Aggregate    PK AGG#{org}#{customer}            SK {meter}#{period start}
Unique value PK UNQ#{org}#{customer}#{meter}#{period}  SK {typed value}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from functions.common.errors import StoreRefused
from functions.meters.aggregation import Partial
from functions.store import dynamo
from functions.store.codec import decimal_attr, from_item, to_attr, to_item
from functions.store.keys import (
    EVENT_SHARDS,
    aggregate_pk,
    aggregate_sk,
    event_pk,
    event_shard,
    key,
    unique_pk,
)

AggregateKey = tuple[str, str, str]  # customer id, meter id, period key


@dataclass
class EventRecord:
    id: str
    customer_id: str
    name: str
    timestamp: str
    external_id: str | None
    metadata: dict[str, Any]
    ingested_at: str
    period_key: str
    meter_seq: int
    late: bool = False


@dataclass
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


@dataclass
class AggregateDelta:
    key: AggregateKey
    period_end: str
    partial: Partial
    prior: StoredAggregate | None
    new_markers: list[str] = field(default_factory=list)
    late_count: int = 0


@dataclass
class ChunkResult:
    committed: bool
    duplicates: set[str] = field(default_factory=set)
    closed: set[AggregateKey] = field(default_factory=set)


def event_item(org_id: str, event: EventRecord) -> dict[str, Any]:
    """Written by hand rather than through to_item: this runs once per ingested event."""
    item: dict[str, Any] = {
        "PK": {"S": event_pk(org_id, event_shard(event.id))},
        "SK": {"S": event.id},
        "id": {"S": event.id},
        "c": {"S": event.customer_id},
        "n": {"S": event.name},
        "ts": {"S": event.timestamp},
        "ia": {"S": event.ingested_at},
        "p": {"S": event.period_key},
        "ms": {"N": str(event.meter_seq)},
    }
    if event.external_id is not None:
        item["x"] = {"S": event.external_id}
    if event.metadata:
        item["md"] = to_attr(event.metadata)
    if event.late:
        item["late"] = {"BOOL": True}
    return item


def decode_event(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {
        "id": data["id"],
        "customer_id": data["c"],
        "name": data["n"],
        "timestamp": data["ts"],
        "external_id": data.get("x"),
        "metadata": data.get("md", {}),
        "ingested_at": data["ia"],
        "period_key": data["p"],
        "meter_seq": data["ms"],
        "late": data.get("late", False),
    }


def _aggregate_update(org_id: str, delta: AggregateDelta) -> dict[str, Any]:
    customer_id, meter_id, period_key = delta.key
    part, prior = delta.partial, delta.prior
    sets = ["m = if_not_exists(m, :m)", "ps = if_not_exists(ps, :ps)", "pe = if_not_exists(pe, :pe)"]
    adds = ["ver :one"]
    conditions = ["attribute_not_exists(closed)"]
    values: dict[str, Any] = {
        ":m": {"S": meter_id}, ":ps": {"S": period_key}, ":pe": {"S": delta.period_end}, ":one": {"N": "1"}
    }
    if part.count:
        adds.append("n :n")
        values[":n"] = {"N": str(part.count)}
    if part.total:
        adds.append("s :s")
        values[":s"] = to_attr(part.total)
    if delta.late_count:
        adds.append("late_n :late")
        values[":late"] = {"N": str(delta.late_count)}
    # min, max and last only move one way; they are set against the value read first, so a concurrent
    # writer that moved them makes this transaction fail and the chunk re-read and retry.
    for attr, new, old, better in (
        ("mn", part.minimum, prior.state.minimum if prior else None, lambda a, b: a < b),
        ("mx", part.maximum, prior.state.maximum if prior else None, lambda a, b: a > b),
    ):
        if new is not None and (old is None or better(new, old)):
            sets.append(f"{attr} = :{attr}")
            values[f":{attr}"] = to_attr(new)
            if old is None:
                conditions.append(f"attribute_not_exists({attr})")
            else:
                conditions.append(f"{attr} = :{attr}_old")
                values[f":{attr}_old"] = to_attr(old)
    old_last = prior.state.last_at if prior else None
    if part.last_at is not None and (old_last is None or part.last_at >= old_last):
        sets += ["lv = :lv", "lt = :lt"]
        values[":lv"] = to_attr(part.last_value)
        values[":lt"] = {"S": part.last_at}
        if old_last is None:
            conditions.append("attribute_not_exists(lt)")
        else:
            conditions.append("lt = :lt_old")
            values[":lt_old"] = {"S": old_last}
    if delta.new_markers:
        adds.append("u :u")
        values[":u"] = {"N": str(len(delta.new_markers))}
    return {
        "Update": {
            "TableName": dynamo.table_name(),
            "Key": key(aggregate_pk(org_id, customer_id), aggregate_sk(meter_id, period_key)),
            "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def write_chunk(org_id: str, events: list[EventRecord], deltas: list[AggregateDelta]) -> ChunkResult:
    """One transaction: every event put (new ids only), every aggregate update, every new unique marker."""
    table = dynamo.table_name()
    actions: list[dict[str, Any]] = [
        {"Put": {"TableName": table, "Item": event_item(org_id, e), "ConditionExpression": "attribute_not_exists(PK)"}}
        for e in events
    ]
    actions += [_aggregate_update(org_id, d) for d in deltas]
    marker_owner: list[AggregateDelta] = []
    for delta in deltas:
        customer_id, meter_id, period_key = delta.key
        for marker in delta.new_markers:
            actions.append(
                {
                    "Put": {
                        "TableName": table,
                        "Item": key(unique_pk(org_id, customer_id, meter_id, period_key), marker),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
            marker_owner.append(delta)
    if not actions:
        return ChunkResult(committed=True)
    reasons = dynamo.transact(actions)
    if reasons is None:
        return ChunkResult(committed=True)
    refused = [r for r in reasons if r.get("Code") == "ValidationError"]
    if refused or len(reasons) != len(actions):
        # A number DynamoDB cannot hold (a sum beyond 38 digits) is no race: retrying would fail the same way for
        # ever and read as contention. AWS reports it as a ValidationError reason; DynamoDB Local as a plain
        # ValidationException, which dynamo.transact hands back as an empty list: a real cancellation carries
        # one reason per action. Nothing of the chunk was written either way.
        detail = refused[0].get("Message", "ValidationError") if refused else "not a transaction conflict"
        raise StoreRefused(f"the store refused the write ({detail})")
    result = ChunkResult(committed=False)
    for index, reason in enumerate(reasons):
        if reason.get("Code") != "ConditionalCheckFailed":
            continue
        if index < len(events):
            result.duplicates.add(events[index].id)
        elif index < len(events) + len(deltas):
            delta = deltas[index - len(events)]
            old = reason.get("Item") or {}
            if old.get("closed", {}).get("BOOL"):
                result.closed.add(delta.key)
    return result


def _decode_aggregate(item: dict[str, Any], customer_id: str) -> StoredAggregate:
    state = Partial(
        count=int(item.get("n", {}).get("N", "0")),
        total=decimal_attr(item.get("s")) or Decimal(0),
        minimum=decimal_attr(item.get("mn")),
        maximum=decimal_attr(item.get("mx")),
        last_value=decimal_attr(item.get("lv")),
        last_at=item.get("lt", {}).get("S"),
    )
    return StoredAggregate(
        customer_id=customer_id,
        meter_id=item["m"]["S"] if "m" in item else item["SK"]["S"].split("#", 1)[0],
        period_key=item["ps"]["S"] if "ps" in item else item["SK"]["S"].split("#", 1)[1],
        period_end=item.get("pe", {}).get("S", ""),
        version=int(item.get("ver", {}).get("N", "0")),
        closed=bool(item.get("closed", {}).get("BOOL", False)),
        state=state,
        unique_count=int(item.get("u", {}).get("N", "0")),
        late_count=int(item.get("late_n", {}).get("N", "0")),
        backfilled_count=int(item.get("bn", {}).get("N", "0")),
        backfilled_total=decimal_attr(item.get("bs")) or Decimal(0),
    )


def read_aggregates(org_id: str, keys: list[AggregateKey]) -> dict[AggregateKey, StoredAggregate]:
    found: dict[AggregateKey, StoredAggregate] = {}
    for start in range(0, len(keys), 100):
        batch = keys[start : start + 100]
        requested = [key(aggregate_pk(org_id, c), aggregate_sk(m, p)) for c, m, p in batch]
        for item in dynamo.batch_get(requested):
            customer_id = item["PK"]["S"].split("#", 2)[2]
            aggregate = _decode_aggregate(item, customer_id)
            found[(customer_id, aggregate.meter_id, aggregate.period_key)] = aggregate
    return found


def present_markers(org_id: str, wanted: list[tuple[AggregateKey, str]]) -> set[tuple[AggregateKey, str]]:
    present: set[tuple[AggregateKey, str]] = set()
    by_pk = {unique_pk(org_id, *k): k for k, _ in wanted}
    for start in range(0, len(wanted), 100):
        batch = wanted[start : start + 100]
        for item in dynamo.batch_get([key(unique_pk(org_id, *k), m) for k, m in batch]):
            present.add((by_pk[item["PK"]["S"]], item["SK"]["S"]))
    return present


def customer_aggregates(org_id: str, customer_id: str) -> list[StoredAggregate]:
    """Every aggregate of one customer: one query, whatever the number of events behind them."""
    items = dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": aggregate_pk(org_id, customer_id)}},
        ConsistentRead=True,
    )
    return [_decode_aggregate(item, customer_id) for item in items]


def customer_events(org_id: str, customer_id: str, start: str | None = None, end: str | None = None) -> list[dict]:
    """A customer's events in [start, end), oldest first."""
    return events_of(org_id, {customer_id}, start, end)


MAX_IN_VALUES = 100  # DynamoDB's limit on the operands of IN


def events_of(org_id: str, customer_ids: set[str] | None, start: str | None = None, end: str | None = None
              ) -> list[dict]:
    """The organization's events in [start, end) of the given customers (None: every customer), oldest first:
    one query per event shard, whatever the number of customers.

    Events are keyed by organization and id (for exactly-once per organization), so the customer and the time
    range are filters: a query reads the shard's events of the whole organization (docs/data-model.md has the
    cost, and the index a time-ordered listing would add)."""
    conditions, values = [], {}
    if start:
        conditions.append("ts >= :start")
        values[":start"] = {"S": start}
    if end:
        conditions.append("ts < :end")
        values[":end"] = {"S": end}
    if customer_ids is not None:
        if not customer_ids:
            return []
        if len(customer_ids) <= MAX_IN_VALUES:
            names = [f":c{i}" for i in range(len(customer_ids))]
            conditions.append(f"c IN ({', '.join(names)})")
            values.update({n: {"S": c} for n, c in zip(names, sorted(customer_ids), strict=True)})
    events: list[dict] = []
    for shard in range(EVENT_SHARDS):
        request: dict[str, Any] = {
            "TableName": dynamo.table_name(),
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": event_pk(org_id, shard)}, **values},
            "ConsistentRead": True,
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        events.extend(decode_event(item) for item in dynamo.query_all(**request))
    if customer_ids is not None and len(customer_ids) > MAX_IN_VALUES:
        events = [e for e in events if e["customer_id"] in customer_ids]
    events.sort(key=lambda e: (e["timestamp"], e["id"]))
    return events


def get_event(org_id: str, event_id: str) -> dict | None:
    """One read: the key is the organization and the id."""
    item = dynamo.call(
        "get_item",
        TableName=dynamo.table_name(),
        Key=key(event_pk(org_id, event_shard(event_id)), event_id),
    ).get("Item")
    return decode_event(item) if item else None


def put_aggregate(org_id: str, aggregate: StoredAggregate, expected_version: int | None) -> None:
    """Backfill: write a recomputed aggregate, guarded by the version read (None: must not exist yet)."""
    state = aggregate.state
    values: dict[str, Any] = {
        "m": aggregate.meter_id, "ps": aggregate.period_key, "pe": aggregate.period_end,
        "ver": aggregate.version, "n": state.count, "s": state.total, "mn": state.minimum, "mx": state.maximum,
        "lv": state.last_value, "lt": state.last_at, "u": aggregate.unique_count, "late_n": aggregate.late_count,
        "bn": aggregate.backfilled_count, "bs": aggregate.backfilled_total,
    }
    request: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Item": {**key(aggregate_pk(org_id, aggregate.customer_id), aggregate_sk(aggregate.meter_id,
                                                                                  aggregate.period_key)),
                 **to_item(values)},
    }
    if expected_version is None:
        request["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        request["ConditionExpression"] = "ver = :v AND attribute_not_exists(closed)"
        request["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
    dynamo.call("put_item", **request)


def put_markers(org_id: str, aggregate_key: AggregateKey, markers: list[str]) -> None:
    """Unique-value markers written outside a transaction (backfill); puts are idempotent."""
    pk = unique_pk(org_id, *aggregate_key)
    for start in range(0, len(markers), 25):
        pending: dict[str, Any] = {
            dynamo.table_name(): [{"PutRequest": {"Item": key(pk, m)}} for m in markers[start : start + 25]]
        }
        while pending:
            pending = dynamo.call("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}


def count_markers(org_id: str, aggregate_key: AggregateKey) -> int:
    total = 0
    request: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": unique_pk(org_id, *aggregate_key)}},
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    while True:
        page = dynamo.call("query", **request)
        total += page["Count"]
        if not page.get("LastEvaluatedKey"):
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def close_aggregate_action(org_id: str, aggregate_key: AggregateKey, period_end: str, version: int | None
                           ) -> dict[str, Any]:
    """The update that closes a period's aggregate (the cycle close puts it in its transaction): guarded by
    the version read, or, where there was no usage, creating a closed marker that must not exist yet."""
    customer_id, meter_id, period_key = aggregate_key
    update: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": key(aggregate_pk(org_id, customer_id), aggregate_sk(meter_id, period_key)),
        "UpdateExpression": "SET closed = :t, m = if_not_exists(m, :m), ps = if_not_exists(ps, :ps), "
                            "pe = if_not_exists(pe, :pe) ADD ver :one",
        "ExpressionAttributeValues": {":t": {"BOOL": True}, ":m": {"S": meter_id}, ":ps": {"S": period_key},
                                      ":pe": {"S": period_end}, ":one": {"N": "1"}},
    }
    if version is None:
        update["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        update["ConditionExpression"] = "ver = :v"
        update["ExpressionAttributeValues"][":v"] = {"N": str(version)}
    return update


def mark_closed(org_id: str, aggregate_key: AggregateKey, period_end: str, version: int | None) -> None:
    """Close one aggregate on its own (what the cycle close does inside its transaction)."""
    dynamo.call("update_item", **close_aggregate_action(org_id, aggregate_key, period_end, version))
