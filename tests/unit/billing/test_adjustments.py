"""Discounts, tax, proration and cycles: worked examples checked by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from functions.billing.adjustments import (
    discount_applies,
    discount_cents,
    find_tax_rates,
    proration_cents,
    taxes_of,
)
from functions.billing.invoice import Line, total_invoice
from functions.meters.periods import Period, customer_period, cycle, cycle_boundary
from functions.store.billing_entities import TaxRate
from tests.unit.entities import billing as make_billing
from tests.unit.entities import discount as make_discount
from tests.unit.entities import tax_rate


def d(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_leap_year_and_month_end_renewals() -> None:
    anchor = d(2028, 1, 31)
    assert [cycle_boundary(anchor, "month", 1, n) for n in range(4)] == [
        d(2028, 1, 31), d(2028, 2, 29), d(2028, 3, 31), d(2028, 4, 30)]
    assert cycle_boundary(d(2027, 1, 31), "month", 1, 1) == d(2027, 2, 28)
    assert cycle_boundary(d(2028, 2, 29), "year", 1, 1) == d(2029, 2, 28)
    assert cycle_boundary(d(2028, 2, 29), "year", 1, 4) == d(2032, 2, 29)
    assert cycle(d(2026, 1, 1), "week", 2, 1) == Period(d(2026, 1, 15), d(2026, 1, 29))


def test_usage_period_follows_the_subscription_and_routes_earlier_events_late() -> None:
    billing = make_billing(anchor="2026-01-31T00:00:00Z", cycle=1, period_start="2026-02-28T00:00:00Z",
                           period_end="2026-03-31T00:00:00Z")
    assert customer_period(billing, d(2026, 3, 5)) == (Period(d(2026, 2, 28), d(2026, 3, 31)), False)
    assert customer_period(billing, d(2026, 4, 2)) == (Period(d(2026, 3, 31), d(2026, 4, 30)), False)
    assert customer_period(billing, d(2026, 2, 20)) == (Period(d(2026, 2, 28), d(2026, 3, 31)), True)


def test_mid_cycle_upgrade_proration() -> None:
    # 30-day cycle, upgrade from 1,000c to 4,000c with exactly 10 days left: (4,000 - 1,000) x 10/30 = 1,000c.
    start, end = d(2026, 4, 1), d(2026, 5, 1)
    assert proration_cents(1000, 4000, start, end, d(2026, 4, 21)) == 1000
    # A downgrade with 15 days left credits half the difference.
    assert proration_cents(4000, 1000, start, end, d(2026, 4, 16)) == -1500


def test_three_month_repeating_discount_over_four_cycles() -> None:
    discount = make_discount(basis_points=2500, duration="repeating", duration_in_months=3)
    started = d(2026, 1, 15)
    issued = [d(2026, 1, 15), d(2026, 2, 15), d(2026, 3, 15), d(2026, 4, 15)]
    applied = [discount_applies(discount, started, i, at) for i, at in enumerate(issued)]
    assert applied == [True, True, True, False]
    totals = [total_invoice([Line("fixed", "plan", 2000)], discount if a else None, []).total for a in applied]
    assert totals == [1500, 1500, 1500, 2000]
    once = replace(discount, duration="once", duration_in_months=None)
    assert [discount_applies(once, started, i, at) for i, at in enumerate(issued)] == [True, False, False, False]


def test_fixed_discount_never_goes_below_zero() -> None:
    assert discount_cents(make_discount("fixed", amount=5000), 1200) == 1200


def tax_cents(amount: int, rate: TaxRate) -> int:
    """The tax one rate puts in an amount."""
    return sum(t.amount for t in taxes_of(amount, [rate]))


def test_inclusive_vs_exclusive_tax() -> None:
    exclusive = tax_rate(1900)
    inclusive = tax_rate(1900, inclusive=True)
    # Exclusive: 10,000c + 19% = 11,900c. Inclusive: 11,900c holds 1,900c of tax, the total stays 11,900c.
    assert tax_cents(10_000, exclusive) == 1900
    assert tax_cents(11_900, inclusive) == 1900
    ex = total_invoice([Line("fixed", "plan", 10_000)], None, [exclusive])
    inc = total_invoice([Line("fixed", "plan", 11_900)], None, [inclusive])
    assert (ex.subtotal, ex.tax_amount, ex.total) == (10_000, 1900, 11_900)
    assert (inc.subtotal, inc.tax_amount, inc.total) == (11_900, 1900, 11_900)
    # 999c at 19% inclusive: the tax is 999 x 0.19 / 1.19 = 159.504c, rounded to 160c (the net is 839c).
    assert tax_cents(999, inclusive) == 160


def test_inclusive_tax_at_a_half_cent_tie_rounds_the_tax_half_up() -> None:
    # 1,503c at 20% inclusive: the tax is 1,503 x 0.2 / 1.2 = 250.5c exactly, so 251c (the net 1,252c). Rounding
    # the net instead (1,252.5 -> 1,253) would leave 250c of tax.
    inclusive = tax_rate(2000, inclusive=True)
    assert tax_cents(1503, inclusive) == 251
    amounts = total_invoice([Line("fixed", "plan", 1503)], None, [inclusive])
    assert (amounts.tax_amount, amounts.total) == (251, 1503)


def test_a_downgrade_credit_gives_back_its_tax_and_its_percentage_discount() -> None:
    # A plan of 4,000c at 50% off and 10% tax was paid 2,200c. Half the cycle unused on a downgrade to a free plan:
    # the credit is -2,000c of plan, less 50% (-1,000c), plus its 10% tax back: -1,100c, half of what was paid.
    half_off = make_discount(basis_points=5000)
    tax = tax_rate(1000)
    paid = total_invoice([Line("fixed", "plan", 4000)], half_off, [tax])
    credit = proration_cents(4000, 0, d(2026, 4, 1), d(2026, 5, 1), d(2026, 4, 16))
    refund = total_invoice([Line("proration", "unused", credit)], half_off, [tax])
    assert (paid.total, credit, refund.discount_amount, refund.tax_amount, refund.total) == (2200, -2000, -1000,
                                                                                          -100, -1100)
    assert tax_cents(-1003, tax_rate(2000, inclusive=True)) == -167  # symmetric: 167.17 -> 167


def test_a_fixed_discount_only_reduces_charges_in_its_own_currency() -> None:
    ten_euros = make_discount("fixed", amount=1000, currency="eur")
    assert discount_cents(ten_euros, 5000, "usd") == 0  # 1,000 cents of EUR are not 1,000 cents of USD
    assert discount_cents(ten_euros, 5000, "EUR") == 1000
    assert discount_cents(ten_euros, -5000, "eur") == 0  # never enlarges a credit
    assert total_invoice([Line("fixed", "plan", 5000)], ten_euros, [], "usd").total == 5000


def test_proration_counts_the_unused_time_to_the_microsecond() -> None:
    # 30 days of 2,592,000,000c... kept small: 2,592,000c over 2,592,000 s is 1c a second; 0.6 s more unused is
    # 0.6c more, which rounds to a whole cent instead of being cut off with the fraction of a second.
    start, end = d(2026, 4, 1), d(2026, 5, 1)
    at = datetime(2026, 4, 30, 23, 59, 58, 400_000, tzinfo=UTC)  # 1.6 s left
    assert proration_cents(0, 2_592_000, start, end, at) == 2  # 1.6c, half up; truncating the seconds gave 1c
    assert proration_cents(0, 2_592_000, start, end, d(2026, 3, 1)) == 2_592_000  # never more than the cycle


def test_the_rates_of_every_jurisdiction_stack_and_exemption_removes_them() -> None:
    rates = [tax_rate(0, id="us"), tax_rate(887, id="ny", state="NY"),
             tax_rate(500, id="old", archived_at="2026-01-01T00:00:00Z")]
    assert [r.id for r in find_tax_rates(rates, {"country": "us", "state": "NY"}, False)] == ["us", "ny"]
    assert [r.id for r in find_tax_rates(rates, {"country": "US", "state": "CA"}, False)] == ["us"]
    assert find_tax_rates(rates, {"country": "US", "state": "NY"}, True) == []
    assert find_tax_rates(rates, {"country": "FR"}, False) == []


def test_stacked_exclusive_rates_are_each_computed_on_the_subtotal() -> None:
    # British Columbia: GST 5% + PST 7% on 10,000c: 500c + 700c, total 11,200c.
    gst = tax_rate(500, id="gst", name="GST", country="CA")
    pst = tax_rate(700, id="pst", name="PST", country="CA", state="BC")
    amounts = total_invoice([Line("fixed", "plan", 10_000)], None, [gst, pst])
    assert [(t.id, t.amount) for t in amounts.taxes] == [("gst", 500), ("pst", 700)]
    assert (amounts.tax_amount, amounts.total, amounts.tax_inclusive) == (1200, 11_200, False)
    # Each rounded on its own: 1,005c -> GST 50.25c -> 50c, PST 70.35c -> 70c (120c; 12% of 1,005c is 120.6c).
    assert total_invoice([Line("fixed", "plan", 1005)], None, [gst, pst]).tax_amount == 120


def test_stacked_inclusive_rates_share_the_gross_and_an_exclusive_one_applies_to_the_net() -> None:
    # 11,200c holding GST 5% and PST 7%: each is 11,200 x rate / 1.12: 500c and 700c; the total stays 11,200c.
    gst = tax_rate(500, inclusive=True, id="gst", country="CA")
    pst = tax_rate(700, inclusive=True, id="pst", country="CA", state="BC")
    both = total_invoice([Line("fixed", "plan", 11_200)], None, [gst, pst])
    assert ([t.amount for t in both.taxes], both.total, both.tax_inclusive) == ([500, 700], 11_200, True)
    # 10,000c with 20% VAT inside and a 5% levy on top: VAT 10,000 x 0.2 / 1.2 = 1,666.67c -> 1,667c; the net
    # 8,333c; the levy 5% of it = 416.65c -> 417c; the total 10,000 + 417 = 10,417c.
    vat = tax_rate(2000, inclusive=True, id="vat", country="GB")
    levy = tax_rate(500, id="levy", country="GB")
    mixed = total_invoice([Line("fixed", "plan", 10_000)], None, [levy, vat])
    assert [(t.id, t.amount) for t in mixed.taxes] == [("vat", 1667), ("levy", 417)]
    assert (mixed.tax_amount, mixed.total, mixed.tax_inclusive) == (2084, 10_417, False)
