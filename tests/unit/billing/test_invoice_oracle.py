"""Hypothesis: random usage, prices, tiers, credits, discounts and tax; the invoice equals the oracle."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.billing.invoice import Line, total_invoice, usage_lines
from tests.billing_oracle import invoice_total
from tests.unit.entities import discount as make_discount
from tests.unit.entities import price, tax_rate

rates = st.integers(0, 3000).map(lambda n: str(Decimal(n) / 1000))  # 0 to 3 cents, 3 decimals
tier_lists = st.lists(st.tuples(st.integers(1, 40), rates), min_size=1, max_size=4).map(
    lambda parts: [{"bound": sum(w for w, _ in parts[: i + 1]), "unit_amount": r} for i, (_, r) in
                   enumerate(parts[:-1])] + [{"bound": None, "unit_amount": parts[-1][1]}])
caps = st.one_of(st.none(), st.integers(0, 500))
prices = st.one_of(
    st.builds(lambda r, c: {"amount_type": "metered_unit", "unit_amount": r, "cap_amount": c}, rates, caps),
    st.builds(lambda t, k, c: {"amount_type": "metered_tiers", "tiers": {"type": k, "tiers": t}, "cap_amount": c},
              tier_lists, st.sampled_from(["graduated", "volume"]), caps),
    st.builds(lambda s, a, c: {"amount_type": "metered_package", "package_size": s, "package_amount": a,
                               "cap_amount": c}, st.integers(1, 50), st.integers(0, 900), caps),
)
discounts = st.one_of(
    st.none(),
    st.builds(lambda bp: {"type": "percentage", "basis_points": bp}, st.integers(1, 10_000)),
    st.builds(lambda a: {"type": "fixed", "amount": a}, st.integers(1, 5000)),
)
taxes = st.lists(st.builds(lambda bp, inc: {"basis_points": bp, "inclusive": inc}, st.integers(0, 3000),
                           st.booleans()), max_size=3)  # stacked: none, one, or several jurisdictions


@settings(max_examples=300)
@given(metered=st.lists(st.tuples(prices, st.integers(0, 200), st.integers(0, 60)), max_size=4),
       fixed=st.integers(0, 10_000), discount=discounts, tax=taxes,
       credit=st.one_of(st.just(0), st.integers(-20_000, -1)), balance=st.one_of(st.just(0), st.integers(1, 30_000)))
def test_invoice_matches_oracle(metered, fixed, discount, tax, credit, balance) -> None:
    price_list = [{**p, "id": f"p{i}", "meter_id": f"m{i}"} for i, (p, _, _) in enumerate(metered)]
    consumed = {f"m{i}": Decimal(used) for i, (_, used, _) in enumerate(metered)}
    credited = {f"m{i}": Decimal(credit) for i, (_, _, credit) in enumerate(metered)}
    lines = usage_lines([price(**p) for p in price_list], consumed, credited, ("a", "b")) + [
        Line("fixed", "plan", fixed)]
    if credit:
        lines.append(Line("proration", "unused time on the old plan", credit))
    # The oracle reads plain dicts; the engine its entities.
    entity = make_discount(**discount) if discount else None
    rates = [tax_rate(t["basis_points"], t["inclusive"]) for t in tax]
    got = total_invoice(lines, entity, rates, credit=balance)  # tax: the stacked rates
    want = invoice_total([(p, u, c) for p, (_, u, c) in zip(price_list, metered, strict=True)], fixed, discount, tax,
                         credit, balance)
    assert {"subtotal": got.subtotal, "discount_amount": got.discount_amount, "tax_amount": got.tax_amount,
            "total": got.total, "applied_balance": got.applied_balance, "amount_due": got.amount_due} == want
