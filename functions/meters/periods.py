"""Usage periods. Pure.

A customer without a metered subscription is metered per UTC calendar month. The billing issue adds the
subscription cycle; everything else only sees `Period`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from functions.common.clock import iso


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
