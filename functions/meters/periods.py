"""Usage periods and billing cycles. Pure.

A customer without a subscription is metered per UTC calendar month; a subscribed customer per billing cycle
of the subscription (its `billing` state on the customer item). Cycles are computed from the subscription's
anchor, never from the previous cycle, so month ends stay put: an anchor of Jan 31 gives Feb 28 (Feb 29 in a
leap year), then Mar 31, Apr 30, ...
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from functions.common.clock import iso, parse_iso
from functions.store.entities import BillingState


@dataclass(frozen=True, order=True)
class Period:
    start: datetime
    end: datetime
    key: str = field(init=False, compare=False)  # the period's id in the table: its start, ISO

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", iso(self.start))

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def calendar_month(moment: datetime) -> Period:
    moment = moment.astimezone(UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


def next_period(period: Period) -> Period:
    return calendar_month(period.end)


INTERVALS = ("day", "week", "month", "year")


def add_months(anchor: datetime, months: int) -> datetime:
    month_index = anchor.month - 1 + months
    year, month = anchor.year + month_index // 12, month_index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def cycle_boundary(anchor: datetime, interval: str, count: int, n: int) -> datetime:
    """The start of cycle n (cycle 0 starts at the anchor)."""
    if interval == "day":
        return anchor + timedelta(days=count * n)
    if interval == "week":
        return anchor + timedelta(weeks=count * n)
    if interval == "month":
        return add_months(anchor, count * n)
    if interval == "year":
        return add_months(anchor, 12 * count * n)
    raise ValueError(f"unknown interval {interval}")


def cycle(anchor: datetime, interval: str, count: int, n: int) -> Period:
    return Period(cycle_boundary(anchor, interval, count, n), cycle_boundary(anchor, interval, count, n + 1))


def cycle_containing(anchor: datetime, interval: str, count: int, moment: datetime, start_at: int = 0) -> tuple[
        int, Period]:
    """The index and period of the cycle that contains `moment` (searching forward from `start_at`)."""
    n = start_at
    while cycle_boundary(anchor, interval, count, n + 1) <= moment:
        n += 1
    return n, cycle(anchor, interval, count, n)


def customer_period(billing: BillingState | None, moment: datetime) -> tuple[Period, bool]:
    """The period an event at `moment` counts in, and whether it is late (its own period already closed)."""
    if not billing:
        return calendar_month(moment), False
    start, end = parse_iso(billing.period_start), parse_iso(billing.period_end)
    if moment < start:
        return Period(start, end), True
    if moment < end:  # the open usage period: a cycle, or its segment since a product change (docs/billing.md)
        return Period(start, end), False
    _, period = cycle_containing(parse_iso(billing.anchor), billing.interval, billing.interval_count, moment,
                                 start_at=billing.cycle)
    return period, False


def following_period(billing: BillingState | None, period: Period) -> Period:
    if not billing:
        return next_period(period)
    anchor = parse_iso(billing.anchor)
    n, _ = cycle_containing(anchor, billing.interval, billing.interval_count, period.start, start_at=billing.cycle)
    return cycle(anchor, billing.interval, billing.interval_count, n + 1)
