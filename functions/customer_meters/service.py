"""Live customer meters: consumed, credited and balance per active meter, from one query per customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from functions.common.clock import utcnow
from functions.common.errors import NotFound
from functions.common.listing import SortKeys, sort_rows
from functions.meters.aggregation import value_of
from functions.meters.periods import calendar_month
from functions.meters.service import as_number
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store.aggregates import StoredAggregate, customer_aggregates
from functions.store.customers import CustomerRef
from functions.store.entities import Customer, Meter

ID_SEPARATOR = "_"


def customer_meter_id(customer_id: str, meter_id: str) -> str:
    return f"cm{ID_SEPARATOR}{customer_id}{ID_SEPARATOR}{meter_id}"


def split_customer_meter_id(value: str) -> tuple[str, str]:
    parts = value.split(ID_SEPARATOR)
    if len(parts) != 3 or parts[0] != "cm":
        raise NotFound("customer meter not found")
    return parts[1], parts[2]


def open_period_start(customer: Customer, meter_id: str, now: datetime) -> str:
    """Where the period usage of a meter counts in now starts: the open segment of the subscription the meter
    follows (`Customer.billing_for`), or else the calendar month (meters/periods.py)."""
    billing = customer.billing_for(meter_id)
    return billing.period_start if billing else calendar_month(now).key


def oldest_open_start(customer: Customer, now: datetime) -> str:
    """The earliest start of any of the customer's open periods: the customer-meter read reads from there on."""
    return min([calendar_month(now).key, *(s.period_start for s in customer.billing.values())])


def open_aggregates(aggregates: list[StoredAggregate], customer: Customer, now: datetime
                    ) -> dict[str, StoredAggregate]:
    """Per meter, the aggregate usage is counting in now (open_period_start), if it has one and it is not
    closed. An older period a customer without a subscription used is not shown: its month is over."""
    return {a.meter_id: a for a in aggregates
            if not a.closed and a.period_key == open_period_start(customer, a.meter_id, now)}


def consumed(meter: Meter, aggregate: StoredAggregate) -> Decimal:
    return value_of(meter.aggregation["func"], aggregate.state, aggregate.unique_count)


@dataclass(frozen=True, slots=True)
class CustomerMeter:
    """One active meter of a customer: what it consumed and was credited in its current period."""

    customer_id: str
    meter: Meter
    consumed: Decimal
    credited: Decimal
    period_start: str
    period_end: str

    def numbers(self) -> dict[str, Any]:
        """Polar's CustomerMeter fields, but the embedded customer and meter (each caller shows those its way)."""
        return {
            "id": customer_meter_id(self.customer_id, self.meter.id),
            "created_at": self.period_start,
            "modified_at": None,
            "customer_id": self.customer_id,
            "meter_id": self.meter.id,
            "consumed_units": as_number(self.consumed),
            "credited_units": int(self.credited),
            "balance": as_number(self.credited - self.consumed),
            "period_start": self.period_start,
            "period_end": self.period_end,
        }


def customer_meters(org_id: str, customer: Customer, meters: dict[str, Meter], now: datetime | None = None
                    ) -> list[CustomerMeter]:
    """Every active meter of the customer with its current numbers: one DynamoDB query, of the open periods'
    aggregates only (however many periods the customer has closed).

    Active: the customer has usage in the current period, or its subscription grants credits on the meter.
    """
    now = now or utcnow()
    credits = {m: (Decimal(str(units)), state) for state in customer.billing.values()
               for m, units in state.credits.items()}
    stored = customer_aggregates(org_id, customer.id, since=oldest_open_start(customer, now))
    current = open_aggregates(stored, customer, now)
    rows = []
    for meter_id in sorted(set(current) | set(credits)):
        meter = meters.get(meter_id)
        if meter is None or meter.archived_at:
            continue
        aggregate = current.get(meter_id)
        credited, state = credits.get(meter_id, (Decimal(0), None))
        rows.append(CustomerMeter(
            customer_id=customer.id,
            meter=meter,
            consumed=consumed(meter, aggregate) if aggregate else Decimal(0),
            credited=credited,
            period_start=aggregate.period_key if aggregate else state.period_start,  # type: ignore[union-attr]
            period_end=aggregate.period_end if aggregate else state.period_end,  # type: ignore[union-attr]
        ))
    return rows


SORT_KEYS = ("created_at", "modified_at", "customer_id", "customer_name", "meter_id", "meter_name",
             "consumed_units", "credited_units", "balance")


def _sort_value(pair: tuple[CustomerMeter, Customer], key: str) -> Any:
    row, customer = pair
    if key == "customer_name":
        return customer.name
    if key == "meter_name":
        return row.meter.name
    if key == "modified_at":  # never modified: the creation (the period's start)
        key = "created_at"
    return row.numbers()[key]


def list_customer_meters(org_id: str, ref: CustomerRef | None, meter_id: str | None = None,
                         sorting: SortKeys | None = None) -> list[tuple[CustomerMeter, Customer]]:
    """(row, customer) of every active meter of the customers a filter names (None: every customer), in the
    customers' order unless `sorting` (Polar's CustomerMeterSortProperty keys) says otherwise."""
    meters = {m.id: m for m in meter_store.list_all(org_id)}
    rows = []
    for customer in customer_store.select(org_id, ref):
        for row in customer_meters(org_id, customer, meters):
            if meter_id is None or row.meter.id == meter_id:
                rows.append((row, customer))
    return sort_rows(rows, sorting or [], _sort_value)


def get_customer_meter(org_id: str, customer_meter_id: str) -> tuple[CustomerMeter, Customer]:
    customer_id, meter_id = split_customer_meter_id(customer_meter_id)
    customer = customer_store.resolve(org_id, CustomerRef(customer_id=customer_id))
    meters = {m.id: m for m in meter_store.list_all(org_id)}
    for row in customer_meters(org_id, customer, meters):
        if row.meter.id == meter_id:
            return row, customer
    raise NotFound("customer meter not found")
