"""Which aggregate a customer meter shows (the open-aggregate choice) and its numbers. Pure, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from functions.customer_meters.service import consumed, oldest_open_start, open_aggregates
from functions.store.aggregates import StoredAggregate
from functions.store.entities import BillingState, Customer
from functions.store.partial import Partial
from tests.unit.entities import billing, meter

OCT, NOV, DEC = "2026-10-01T00:00:00.000000Z", "2026-11-01T00:00:00.000000Z", "2026-12-01T00:00:00.000000Z"
IN_NOV = datetime(2026, 11, 20, tzinfo=UTC)


def customer(*states: BillingState) -> Customer:
    return Customer("c1", "org", OCT, billing={s.subscription_id: s for s in states})


def agg(meter: str, period: str, count: int = 1, closed: bool = False) -> StoredAggregate:
    return StoredAggregate("c1", meter, period, "", closed=closed, state=Partial(count=count))


def test_without_a_subscription_the_current_calendar_month_counts() -> None:
    # m2 was last used in October: its month is over, so in November it has no current usage.
    current = open_aggregates([agg("m1", OCT), agg("m1", NOV), agg("m2", OCT)], customer(), IN_NOV)
    assert {m: a.period_key for m, a in current.items()} == {"m1": NOV}


def test_a_closed_period_never_counts() -> None:
    assert open_aggregates([agg("m1", OCT), agg("m1", NOV, closed=True)], customer(), IN_NOV) == {}


def test_with_a_subscription_only_its_current_cycle_counts() -> None:
    state = billing(period_start=NOV)
    current = open_aggregates([agg("m1", OCT), agg("m1", NOV, 7), agg("m1", DEC), agg("m2", OCT)], customer(state),
                              IN_NOV)
    assert list(current) == ["m1"] and current["m1"].state.count == 7


def test_the_read_starts_at_the_oldest_open_period() -> None:
    yearly = billing(subscription_id="s2", interval="year", period_start="2026-10-15T00:00:00Z")
    assert oldest_open_start(customer(), IN_NOV) == NOV
    assert oldest_open_start(customer(billing(period_start=NOV)), datetime(2026, 12, 3, tzinfo=UTC)) == NOV
    assert oldest_open_start(customer(billing(period_start=NOV), yearly), IN_NOV) == "2026-10-15T00:00:00Z"


def test_consumed_follows_the_meters_aggregation() -> None:
    aggregate = StoredAggregate("c1", "m", NOV, "", unique_count=4,
                                state=Partial(count=3, total=Decimal("7.5"), maximum=Decimal(4)))
    assert consumed(meter("m", {"func": "count"}), aggregate) == 3
    assert consumed(meter("m", {"func": "sum", "property": "x"}), aggregate) == Decimal("7.5")
    assert consumed(meter("m", {"func": "avg", "property": "x"}), aggregate) == Decimal("2.5")
    assert consumed(meter("m", {"func": "max", "property": "x"}), aggregate) == 4
    assert consumed(meter("m", {"func": "unique", "property": "x"}), aggregate) == 4


def test_each_meter_counts_in_the_cycle_of_the_subscription_that_prices_it() -> None:
    # s1 (monthly, since November) prices m1; s2 (yearly, since October 15) prices m2; m3, priced by neither,
    # follows the oldest subscription: s2.
    monthly = billing(subscription_id="s1", period_start=NOV, period_end=DEC, meter_ids=["m1"], started_at=NOV)
    yearly = billing(subscription_id="s2", interval="year", period_start="2026-10-15T00:00:00Z",
                     period_end="2027-10-15T00:00:00Z", meter_ids=["m2"], started_at="2026-10-15T00:00:00Z")
    aggregates = [agg("m1", NOV, 2), agg("m1", "2026-10-15T00:00:00Z", 9), agg("m2", "2026-10-15T00:00:00Z", 3),
                  agg("m2", NOV, 8), agg("m3", NOV, 5), agg("m3", "2026-10-15T00:00:00Z", 4)]
    current = open_aggregates(aggregates, customer(monthly, yearly), IN_NOV)
    assert {m: (a.period_key, a.state.count) for m, a in current.items()} == {
        "m1": (NOV, 2), "m2": ("2026-10-15T00:00:00Z", 3), "m3": ("2026-10-15T00:00:00Z", 4)}
