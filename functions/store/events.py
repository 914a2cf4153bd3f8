"""Events: immutable, keyed by organization and id (the id from external_id), spread over shards; a customer's
events by time through GSI2 (the listing).

Event item   PK EVENT#{org}#{shard}   SK {event id}   (attribute names: functions/store/attributes.py)
GSI2         l {customer}#{listing shard}   ts {timestamp}
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from typing import Any

from pydantic_core import to_json

from functions.store import dynamo
from functions.store.attributes import (
    EVENT_CUSTOMER,
    EVENT_EXTERNAL_ID,
    EVENT_INGESTED_AT,
    EVENT_LATE,
    EVENT_LISTING,
    EVENT_METADATA,
    EVENT_METER_PERIODS,
    EVENT_METER_SEQ,
    EVENT_NAME,
    EVENT_PERIOD,
    EVENT_TIMESTAMP,
)
from functions.store.codec import from_item
from functions.store.keys import (
    EVENT_SHARDS,
    LISTING_SHARDS,
    event_key,
    event_pk,
    event_shard,
    listing_partition,
)
from functions.store.table_spec import GSI2


@dataclass(slots=True)
class EventRecord:
    """An event as stored. Not frozen: one is built per ingested event, and a frozen dataclass's __init__ costs
    about twice as much (1-2 us per event, measured), which the ingest CPU budget (20 us per event) does not
    have; nothing mutates one."""

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
    # The meters whose aggregates count this event in another period than `period_key` (a meter another
    # subscription of the customer prices, or a late event rerouted for one meter): meter id -> period key.
    meter_periods: dict[str, str] | None = None

    def period_of(self, meter_id: str) -> str:
        """The period key of the aggregate that counts this event for a meter."""
        if self.meter_periods:
            return self.meter_periods.get(meter_id, self.period_key)
        return self.period_key

    def as_dict(self) -> dict[str, Any]:
        """The event as the meters' filters and the API read it (the field names above)."""
        return {"id": self.id, "customer_id": self.customer_id, "name": self.name, "timestamp": self.timestamp,
                "external_id": self.external_id, "metadata": self.metadata, "ingested_at": self.ingested_at,
                "period_key": self.period_key, "meter_seq": self.meter_seq, "late": self.late,
                "meter_periods": self.meter_periods}


class _SharedStrings(dict[str, dict[str, str]]):
    """One {"S": value} attribute per distinct string, for every item of a batch that holds it: most of an event
    item's strings (its organization's key, customer, name, period, ingest time) repeat across a chunk, and each
    attribute not allocated again is memory the 20 us an event does not spend. Never mutated (botocore only
    reads what it serializes)."""

    def __missing__(self, value: str) -> dict[str, str]:
        attr = self[value] = {"S": value}
        return attr


def event_puts(org_id: str, events: Sequence[EventRecord]) -> list[dict[str, Any]]:
    """The transaction actions that put a batch of events, each only if its id is new. Written by hand rather
    than through to_item: this runs once per ingested event."""
    shared = _SharedStrings()
    keys = _event_partitions(org_id)
    sequences: dict[int, dict[str, str]] = {}
    table = dynamo.table_name()
    puts = []
    for event in events:
        event_id = event.id
        shard = event_shard(event_id)
        customer_id = event.customer_id
        sequence = sequences.get(event.meter_seq)
        if sequence is None:
            sequence = sequences[event.meter_seq] = {"N": str(event.meter_seq)}
        id_attr = {"S": event_id}
        external_id, metadata = event.external_id, event.metadata
        # Every attribute in one display, so that the map is made at its final size (the optional ones are
        # taken out again when absent, which is rare).
        item: dict[str, Any] = {
            "PK": keys[shard],
            "SK": id_attr,
            "id": id_attr,
            EVENT_CUSTOMER: shared[customer_id],
            # The listing shard from the same hash (LISTING_SHARDS divides EVENT_SHARDS): no second crc32 per
            # event.
            EVENT_LISTING: _listing_partitions(customer_id)[shard % LISTING_SHARDS],
            EVENT_NAME: shared[event.name],
            EVENT_TIMESTAMP: {"S": event.timestamp},
            EVENT_INGESTED_AT: shared[event.ingested_at],
            EVENT_PERIOD: shared[event.period_key],
            EVENT_METER_SEQ: sequence,
            EVENT_EXTERNAL_ID: _ABSENT if external_id is None else {"S": external_id},
            # The metadata as its JSON text: written once, read whole, never a condition or filter in DynamoDB;
            # one string instead of a map of typed values (a dict per value) for every event, and one value for
            # botocore to serialize. It came from JSON (the API's body, a bulk line), so it holds JSON's types
            # only (never a Decimal, which to_json would write as a string).
            EVENT_METADATA: {"S": to_json(metadata).decode()} if metadata else _ABSENT,
        }
        if external_id is None:
            del item[EVENT_EXTERNAL_ID]
        if not metadata:
            del item[EVENT_METADATA]
        if event.late:
            item[EVENT_LATE] = {"BOOL": True}
        if event.meter_periods:
            item[EVENT_METER_PERIODS] = {"M": {m: {"S": p} for m, p in event.meter_periods.items()}}
        puts.append({"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}})
    return puts


_ABSENT: dict[str, Any] = {}  # an optional attribute's place in the display above until it is deleted


# The key attributes of an organization's event partitions and of a customer's listing partitions, made once
# per environment rather than for every chunk (never mutated: botocore only reads them).
@lru_cache(maxsize=256)
def _event_partitions(org_id: str) -> tuple[dict[str, str], ...]:
    return tuple({"S": event_pk(org_id, shard)} for shard in range(EVENT_SHARDS))


@lru_cache(maxsize=4096)
def _listing_partitions(customer_id: str) -> tuple[dict[str, str], ...]:
    return tuple({"S": listing_partition(customer_id, shard)} for shard in range(LISTING_SHARDS))


def decode_event(item: dict[str, Any]) -> EventRecord:
    data = from_item(item)
    metadata = data.get(EVENT_METADATA)
    return EventRecord(
        id=data["id"],
        customer_id=data[EVENT_CUSTOMER],
        name=data[EVENT_NAME],
        timestamp=data[EVENT_TIMESTAMP],
        external_id=data.get(EVENT_EXTERNAL_ID),
        # JSON text; a map in items written before (docs/data-model.md)
        metadata=json.loads(metadata) if isinstance(metadata, str) else metadata or {},
        ingested_at=data[EVENT_INGESTED_AT],
        period_key=data[EVENT_PERIOD],
        meter_seq=data[EVENT_METER_SEQ],
        late=data.get(EVENT_LATE, False),
        meter_periods=data.get(EVENT_METER_PERIODS),
    )


def customer_events(org_id: str, customer_id: str, start: str | None = None, end: str | None = None
                    ) -> list[EventRecord]:
    """A customer's events in [start, end), oldest first."""
    return events_of(org_id, {customer_id}, start, end)


MAX_IN_VALUES = 100  # DynamoDB's limit on the operands of IN


def events_of(org_id: str, customer_ids: set[str] | None, start: str | None = None, end: str | None = None
              ) -> list[EventRecord]:
    """The organization's events in [start, end) of the given customers (None: every customer), oldest first:
    one query per event shard, whatever the number of customers.

    Events are keyed by organization and id (for exactly-once per organization), so the customer and the time
    range are filters: a query reads the shard's events of the whole organization (docs/data-model.md has the
    cost, and the index a time-ordered listing would add)."""
    conditions, values = [], {}
    if start:
        conditions.append(f"{EVENT_TIMESTAMP} >= :start")
        values[":start"] = {"S": start}
    if end:
        conditions.append(f"{EVENT_TIMESTAMP} < :end")
        values[":end"] = {"S": end}
    if customer_ids is not None:
        if not customer_ids:
            return []
        if len(customer_ids) <= MAX_IN_VALUES:
            names = [f":c{i}" for i in range(len(customer_ids))]
            conditions.append(f"{EVENT_CUSTOMER} IN ({', '.join(names)})")
            values.update({n: {"S": c} for n, c in zip(names, sorted(customer_ids), strict=True)})
    events: list[EventRecord] = []
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
        events = [e for e in events if e.customer_id in customer_ids]
    events.sort(key=lambda e: (e.timestamp, e.id))
    return events


# A listing position: (timestamp, event id). Events of one timestamp are ordered by id, so a cursor is exact.
Position = tuple[str, str]


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[EventRecord]
    more: bool  # another event follows the last one (a next page exists)

    @property
    def last(self) -> Position | None:
        return (self.events[-1].timestamp, self.events[-1].id) if self.events else None


def _shard_events(customer_id: str, shard: int, newest_first: bool, low: str, high: str, batch: int,
                  name: str | None) -> Iterator[EventRecord]:
    """One listing shard's events with low <= timestamp <= high, in (timestamp, id) order, read `batch` at a
    time as the merge asks for them. The index orders only by timestamp: ties are sorted here by id."""
    request: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "IndexName": GSI2["name"],
        "KeyConditionExpression": "#l = :l AND #t BETWEEN :low AND :high",
        "ExpressionAttributeNames": {"#l": EVENT_LISTING, "#t": EVENT_TIMESTAMP},
        "ExpressionAttributeValues": {":l": {"S": listing_partition(customer_id, shard)}, ":low": {"S": low},
                                      ":high": {"S": high}},
        "ScanIndexForward": not newest_first,
        "Limit": batch,
    }
    if name is not None:  # fewer items sent back; the read units are those of every event read
        request["FilterExpression"] = "#n = :n"
        request["ExpressionAttributeNames"]["#n"] = EVENT_NAME
        request["ExpressionAttributeValues"][":n"] = {"S": name}
    events = (decode_event(item) for item in dynamo.query_all(**request))
    for _, tied in groupby(events, key=lambda e: e.timestamp):
        yield from sorted(tied, key=lambda e: e.id, reverse=newest_first)


FIRST_TIMESTAMP, LAST_TIMESTAMP = "0", "9"  # below and above every ISO 8601 timestamp of years 0000-8999


def customer_event_page(customer_id: str, limit: int, *, newest_first: bool = True, start: str | None = None,
                        end: str | None = None, after: Position | None = None, skip: int = 0,
                        keep: Callable[[EventRecord], bool] | None = None, name: str | None = None) -> EventPage:
    """A page of one customer's events in [start, end), newest (or oldest) first, from the listing index: the
    `limit` events after position `after` (a cursor: the last event of the page before), or after the first
    `skip` (page numbers), that `keep` keeps and have the `name`. Each listing shard is read in key order and
    the shards are merged, so the cost is that of the events read, whatever the number stored; a filter that
    keeps few events reads on until it has a page. The index is eventually consistent, as any GSI: an event a
    moment old may not be listed yet (GET /v1/events/{id} reads the table)."""
    low, high = start or FIRST_TIMESTAMP, end or LAST_TIMESTAMP
    if after is not None:
        low, high = (low, min(high, after[0])) if newest_first else (max(low, after[0]), high)
    batch = min(100, skip + limit + 1)
    shards = [_shard_events(customer_id, shard, newest_first, low, high, batch, name)
              for shard in range(LISTING_SHARDS)]
    order: Callable[[EventRecord], Position] = lambda e: (e.timestamp, e.id)  # noqa: E731
    wanted: list[EventRecord] = []
    for event in heapq.merge(*shards, key=order, reverse=newest_first):
        if end is not None and event.timestamp >= end:
            continue
        if after is not None and ((order(event) >= after) if newest_first else (order(event) <= after)):
            continue
        if keep is not None and not keep(event):
            continue
        if skip:
            skip -= 1
            continue
        if len(wanted) == limit:
            return EventPage(wanted, more=True)
        wanted.append(event)
    return EventPage(wanted, more=False)


def get_event(org_id: str, event_id: str) -> EventRecord | None:
    """One read: the key is the organization and the id."""
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=event_key(org_id, event_id)).get("Item")
    return decode_event(item) if item else None
