"""Events: immutable, keyed by organization and id (the id from external_id), spread over shards.

Event item   PK EVENT#{org}#{shard}   SK {event id}   (attribute names: functions/store/attributes.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.store import dynamo
from functions.store.attributes import (
    EVENT_CUSTOMER,
    EVENT_EXTERNAL_ID,
    EVENT_INGESTED_AT,
    EVENT_LATE,
    EVENT_METADATA,
    EVENT_METER_PERIODS,
    EVENT_METER_SEQ,
    EVENT_NAME,
    EVENT_PERIOD,
    EVENT_TIMESTAMP,
)
from functions.store.codec import from_item, to_attr
from functions.store.keys import EVENT_SHARDS, event_key, event_pk, event_shard


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


def event_item(org_id: str, event: EventRecord) -> dict[str, Any]:
    """Written by hand rather than through to_item: this runs once per ingested event."""
    item: dict[str, Any] = {
        "PK": {"S": event_pk(org_id, event_shard(event.id))},
        "SK": {"S": event.id},
        "id": {"S": event.id},
        EVENT_CUSTOMER: {"S": event.customer_id},
        EVENT_NAME: {"S": event.name},
        EVENT_TIMESTAMP: {"S": event.timestamp},
        EVENT_INGESTED_AT: {"S": event.ingested_at},
        EVENT_PERIOD: {"S": event.period_key},
        EVENT_METER_SEQ: {"N": str(event.meter_seq)},
    }
    if event.external_id is not None:
        item[EVENT_EXTERNAL_ID] = {"S": event.external_id}
    if event.metadata:
        item[EVENT_METADATA] = to_attr(event.metadata)
    if event.late:
        item[EVENT_LATE] = {"BOOL": True}
    if event.meter_periods:
        item[EVENT_METER_PERIODS] = {"M": {m: {"S": p} for m, p in event.meter_periods.items()}}
    return item


def decode_event(item: dict[str, Any]) -> EventRecord:
    data = from_item(item)
    return EventRecord(
        id=data["id"],
        customer_id=data[EVENT_CUSTOMER],
        name=data[EVENT_NAME],
        timestamp=data[EVENT_TIMESTAMP],
        external_id=data.get(EVENT_EXTERNAL_ID),
        metadata=data.get(EVENT_METADATA, {}),
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


def get_event(org_id: str, event_id: str) -> EventRecord | None:
    """One read: the key is the organization and the id."""
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=event_key(org_id, event_id)).get("Item")
    return decode_event(item) if item else None
