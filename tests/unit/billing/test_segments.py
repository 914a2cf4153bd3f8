"""Usage segments, pure: a product change bills the usage so far at the old prices, each segment's aggregate
its own (max, unique, last, avg per segment), and the next segment's credits are the cycle's less those used."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from functions.billing.closing import billing_state, segment_usage
from functions.common.clock import iso
from functions.meters.periods import customer_period
from functions.store.aggregates import StoredAggregate
from functions.store.billing_entities import Subscription
from functions.store.partial import Partial
from tests.unit.entities import meter, product, subscription

START = datetime(2026, 10, 1, tzinfo=UTC)
CHANGE = datetime(2026, 10, 11, 12, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
METERS = {"calls": meter("calls", {"func": "sum", "property": "n"}),
          "seats": meter("seats", {"func": "max", "property": "n"}),
          "users": meter("users", {"func": "unique", "property": "user"})}
OLD = product([
    {"id": "p-calls", "amount_type": "metered_unit", "meter_id": "calls", "unit_amount": "3", "credited_units": 100},
    {"id": "p-seats", "amount_type": "metered_unit", "meter_id": "seats", "unit_amount": "500"},
    {"id": "p-users", "amount_type": "metered_unit", "meter_id": "users", "unit_amount": "40"},
], id="old", name="Old")
NEW = product([
    {"id": "n-calls", "amount_type": "metered_unit", "meter_id": "calls", "unit_amount": "1", "credited_units": 150},
], id="new", name="New")


def sub(**changes) -> Subscription:
    return subscription(**{"billing_anchor": iso(START), "started_at": iso(START),
                           "current_period_start": iso(START), "current_period_end": iso(END), **changes})


def aggregate(meter: str, period_key: str, state: Partial, unique_count: int = 0, version: int = 4
              ) -> StoredAggregate:
    return StoredAggregate("c1", meter, period_key, iso(END), version=version, state=state, unique_count=unique_count)


def test_the_old_segment_is_billed_at_the_old_prices_including_meters_the_new_product_drops() -> None:
    aggregates = {"calls": aggregate("calls", iso(START), Partial(count=3, total=Decimal(340))),
                  "seats": aggregate("seats", iso(START), Partial(count=2, maximum=Decimal(7))),
                  "users": aggregate("users", iso(START), Partial(count=5), unique_count=3)}
    segment = segment_usage(sub(), OLD, aggregates, METERS, END, CHANGE)
    # calls: 340 used - 100 credited = 240 x 3c = 720c; seats: peak 7 x 500c = 3,500c; users: 3 x 40c = 120c.
    assert [(line.meter_id, line.quantity, line.amount) for line in segment.lines] == [
        ("calls", "240", 720), ("seats", "7", 3500), ("users", "3", 120)]
    assert {line.period_end for line in segment.lines} == {iso(CHANGE)}
    # Every old meter's aggregate closes with the version read (a concurrent ingest makes the change retry).
    assert [(c.meter_id, c.period_key, c.version) for c in segment.to_close] == [
        ("calls", iso(START), 4), ("seats", iso(START), 4), ("users", iso(START), 4)]


def test_the_next_segment_counts_its_own_events_with_the_credits_left_in_the_cycle() -> None:
    # After the change: the segment starts at the change, and 100 of the cycle's credits were used before it.
    later = sub(usage_start=iso(CHANGE), credits_used={"calls": "100"})
    aggregates = {"calls": aggregate("calls", iso(CHANGE), Partial(count=1, total=Decimal(90)))}
    segment = segment_usage(later, NEW, aggregates, METERS, END, END)
    # New grant 150 - 100 used = 50 credited; 90 - 50 = 40 units x 1c.
    [line] = segment.lines
    assert (line.quantity, line.credited_units, line.amount, line.period_start) == ("40", "50", 40, iso(CHANGE))
    assert billing_state(later, NEW).credits == {"calls": "50"}
    assert billing_state(later, NEW).period_start == iso(CHANGE)


def test_an_event_after_the_change_counts_in_the_new_segment_and_one_before_it_is_late() -> None:
    billing = billing_state(sub(usage_start=iso(CHANGE)), NEW)
    period, late = customer_period(billing, datetime(2026, 10, 20, tzinfo=UTC))
    assert (period.key, period.end, late) == (iso(CHANGE), END, False)
    period, late = customer_period(billing, datetime(2026, 10, 5, tzinfo=UTC))
    assert (period.key, late) == (iso(CHANGE), True)
    period, late = customer_period(billing, datetime(2026, 11, 2, tzinfo=UTC))
    assert (period.start, late) == (END, False)


def test_a_change_before_the_billing_cycle_anchor_prorates_over_the_cycle_the_fee_was_for() -> None:
    from functions.billing.subscriptions import change_proration

    small = product([{"amount_type": "fixed", "price_amount": 3100}], id="small")
    large = product([{"amount_type": "fixed", "price_amount": 6200}], id="large")
    anchored = subscription(billing_anchor="2026-12-31T00:00:00Z", cycle=-1, started_at="2026-12-03T00:00:00Z",
                            current_period_start="2026-12-03T00:00:00Z", current_period_end="2026-12-31T00:00:00Z")
    # 14 days left of the 31 from Nov 30 to Dec 31 (not of the 28-day first period): 3,100 x 14/31 = 1,400c.
    assert change_proration(anchored, small, large, datetime(2026, 12, 17, tzinfo=UTC)) == 1400
    # In a whole cycle it is that cycle's share: Dec 31 to Jan 31, 14 days left of 31, the same 1,400c.
    whole = replace(anchored, cycle=0, current_period_start="2026-12-31T00:00:00Z",
                    current_period_end="2027-01-31T00:00:00Z")
    assert change_proration(whole, small, large, datetime(2027, 1, 17, tzinfo=UTC)) == 1400
