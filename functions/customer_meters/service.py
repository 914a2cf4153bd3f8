"""Live customer meters: consumed, credited and balance per active meter, from one query per customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from functions.common.errors import NotFound
from functions.common.listing import SortKeys, sort_rows
from functions.meters.aggregation import value_of
from functions.meters.service import as_number
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store.aggregates import StoredAggregate, customer_aggregates
from functions.store.customers import CustomerRef
from functions.store.entities import Customer

ID_SEPARATOR = "_"


def customer_meter_id(customer_id: str, meter_id: str) -> str:
    return f"cm{ID_SEPARATOR}{customer_id}{ID_SEPARATOR}{meter_id}"


def split_customer_meter_id(value: str) -> tuple[str, str]:
    parts = value.split(ID_SEPARATOR)
    if len(parts) != 3 or parts[0] != "cm":
        raise NotFound("customer meter not found")
    return parts[1], parts[2]


def open_aggregates(aggregates: list[StoredAggregate], billing: dict[str, Any] | None) -> dict[str, StoredAggregate]:
    """Per meter, the aggregate usage is counting in now: the subscription's current cycle, or else the latest
    period that is not closed."""
    current: dict[str, StoredAggregate] = {}
    for aggregate in aggregates:
        if aggregate.closed:
            continue
        if billing and aggregate.period_key != billing["period_start"]:
            continue
        known = current.get(aggregate.meter_id)
        if known is None or aggregate.period_key > known.period_key:
            current[aggregate.meter_id] = aggregate
    return current


def consumed(meter: dict[str, Any], aggregate: StoredAggregate) -> Decimal:
    return value_of(meter["aggregation"]["func"], aggregate.state, aggregate.unique_count)


def customer_meters(org_id: str, customer: Customer, meters: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every active meter of the customer with its current numbers: one DynamoDB query.

    Active: the customer has usage in the current period, or its subscription grants credits on the meter.
    """
    billing = customer.billing
    credits = {m: Decimal(str(units)) for m, units in ((billing or {}).get("credits") or {}).items()}
    current = open_aggregates(customer_aggregates(org_id, customer.id), billing)
    rows = []
    for meter_id in sorted(set(current) | set(credits)):
        meter = meters.get(meter_id)
        if meter is None or meter.get("archived_at"):
            continue
        aggregate = current.get(meter_id)
        used = consumed(meter, aggregate) if aggregate else Decimal(0)
        credited = credits.get(meter_id, Decimal(0))
        period_start = aggregate.period_key if aggregate else billing["period_start"]  # type: ignore[index]
        period_end = aggregate.period_end if aggregate else billing["period_end"]  # type: ignore[index]
        rows.append({
            "id": customer_meter_id(customer.id, meter_id),
            "created_at": period_start,
            "modified_at": None,
            "customer_id": customer.id,
            "meter_id": meter_id,
            "consumed_units": as_number(used),
            "credited_units": int(credited),
            "balance": as_number(credited - used),
            "period_start": period_start,
            "period_end": period_end,
            "_meter": meter,
        })
    return rows


SORT_KEYS = ("created_at", "modified_at", "customer_id", "customer_name", "meter_id", "meter_name",
             "consumed_units", "credited_units", "balance")


def _sort_value(pair: tuple[dict[str, Any], Customer], key: str) -> Any:
    row, customer = pair
    if key == "customer_name":
        return customer.name
    if key == "meter_name":
        return row["_meter"].get("name")
    if key == "modified_at":
        return row.get("modified_at") or row.get("created_at")
    return row.get(key)


def list_customer_meters(org_id: str, ref: CustomerRef | None, meter_id: str | None = None,
                         sorting: SortKeys | None = None) -> list[tuple[dict[str, Any], Customer]]:
    """(row, customer) of every active meter of the customers a filter names (None: every customer), in the
    customers' order unless `sorting` (Polar's CustomerMeterSortProperty keys) says otherwise."""
    meters = {m["id"]: m for m in meter_store.list_all(org_id)}
    rows = []
    for customer in customer_store.select(org_id, ref):
        for row in customer_meters(org_id, customer, meters):
            if meter_id is None or row["meter_id"] == meter_id:
                rows.append((row, customer))
    return sort_rows(rows, sorting or [], _sort_value)


def get_customer_meter(org_id: str, customer_meter_id: str) -> tuple[dict[str, Any], Customer]:
    customer_id, meter_id = split_customer_meter_id(customer_meter_id)
    customer = customer_store.resolve(org_id, CustomerRef(customer_id=customer_id))
    meters = {m["id"]: m for m in meter_store.list_all(org_id)}
    for row in customer_meters(org_id, customer, meters):
        if row["meter_id"] == meter_id:
            return row, customer
    raise NotFound("customer meter not found")
