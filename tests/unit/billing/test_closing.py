"""Close planning, pure: which lines a period's close bills, what rolls over, which aggregates it closes (with
the versions read), and whether the subscription renews. No AWS: the context and the usage are plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from functions.billing.closing import InvoiceContext, billing_state, plan_close
from functions.common.clock import iso
from functions.meters.periods import Period
from functions.store.aggregates import StoredAggregate
from functions.store.billing_entities import Subscription
from functions.store.entities import Customer
from functions.store.partial import Partial
from tests.unit.entities import meter, product, tax_rate
from tests.unit.entities import subscription as make_subscription

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
CLOSING = Period(START, END)
METER = meter("m1", {"func": "count"}, name="API calls")
PRODUCT = product([
    {"id": "fixed", "amount_type": "fixed", "price_amount": 2000, "price_currency": "usd"},
    {"id": "usage", "amount_type": "metered_unit", "meter_id": "m1", "unit_amount": "10", "credited_units": 100,
     "rollover": True},
], id="p1", name="Pro")

CUSTOMER = Customer(id="c1", organization_id="org", created_at=iso(datetime(2026, 1, 1, tzinfo=UTC)))

def subscription(**changes) -> Subscription:
    return make_subscription(**{"product_id": "p1", "billing_anchor": iso(START), "started_at": iso(START),
                                "current_period_start": iso(START), "current_period_end": iso(END),
                                "invoice_count": 1, **changes})


def context(sub: Subscription) -> InvoiceContext:
    return InvoiceContext("org", sub, PRODUCT, CUSTOMER, None, [], clock=lambda: END)


def usage(count: int, version: int = 3) -> dict[str, StoredAggregate]:
    return {"m1": StoredAggregate("c1", "m1", iso(START), iso(END), version=version, state=Partial(count=count))}


def test_usage_beyond_credits_in_arrears_and_the_next_fee_in_advance() -> None:
    plan = plan_close(context(subscription()), CLOSING, False, usage(130), {"m1": METER})
    metered, fixed = plan.lines
    assert (metered.kind, metered.quantity, metered.amount, metered.period_end) == ("metered", "30", 300, iso(END))
    assert (fixed.kind, fixed.amount, fixed.period_start) == ("fixed", 2000, iso(END))
    assert plan.following is not None and plan.following.start == END
    assert plan.rollover == {}  # every credit used


def test_unused_credits_roll_over_when_the_price_says_so() -> None:
    plan = plan_close(context(subscription()), CLOSING, False, usage(40), {"m1": METER})
    assert plan.rollover == {"m1": "60"}
    assert plan.lines[0].amount == 0


def test_the_aggregates_closed_are_guarded_by_the_versions_read() -> None:
    plan = plan_close(context(subscription()), CLOSING, False, usage(5, version=7), {"m1": METER})
    [closing] = plan.to_close
    assert (closing.meter_id, closing.period_key, closing.version) == ("m1", iso(START), 7)


def test_a_meter_without_usage_closes_with_a_marker_that_must_not_exist() -> None:
    plan = plan_close(context(subscription()), CLOSING, False, {}, {"m1": METER})
    assert [c.version for c in plan.to_close] == [None]
    assert plan.lines[0].consumed_units == "0"


def test_an_ending_subscription_bills_no_next_period_and_usage_up_to_the_cancel() -> None:
    cancel_at = datetime(2026, 10, 20, tzinfo=UTC)
    plan = plan_close(context(subscription()), CLOSING, True, usage(150), {"m1": METER}, final_at=cancel_at)
    assert plan.following is None
    assert [line.kind for line in plan.lines] == ["metered"]
    assert plan.lines[0].period_end == iso(cancel_at)


def test_pending_prorations_are_billed_with_the_close() -> None:
    pending = {"kind": "proration", "description": "Basic -> Pro", "amount": 500, "quantity": "1"}
    plan = plan_close(context(subscription(pending_lines=[pending])), CLOSING, False, usage(0), {"m1": METER})
    assert [line.kind for line in plan.lines] == ["metered", "proration", "fixed"]


def test_rolled_over_credits_add_to_the_next_cycles_grant() -> None:
    sub = subscription(rollover={"m1": "25"})
    plan = plan_close(context(sub), CLOSING, False, usage(110), {"m1": METER})
    assert plan.lines[0].credited_units == "125" and plan.lines[0].quantity == "0"
    assert billing_state(sub, PRODUCT).credits == {"m1": "125"}


def test_totals_apply_the_tax_rate_of_the_customers_country() -> None:
    ctx = InvoiceContext("org", subscription(), PRODUCT, replace(CUSTOMER, billing_address={"country": "SE"}), None,
                         [tax_rate(2500, id="t", country="SE")],
                         clock=lambda: END)
    plan = plan_close(ctx, CLOSING, False, usage(100), {"m1": METER})
    amounts = ctx.totals(plan.lines, END)
    assert (amounts.subtotal, amounts.tax_amount, amounts.total) == (2000, 500, 2500)
    assert Decimal(plan.lines[0].quantity or "0") == 0
