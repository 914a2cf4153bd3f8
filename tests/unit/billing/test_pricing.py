"""Pricing: worked examples checked by hand, and tiers against a unit-by-unit oracle."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from functions.billing.money import parse_unit_amount, to_cents
from functions.billing.pricing import graduated_amount, metered_line_cents, package_amount, volume_amount
from tests.unit.entities import price as make_price

TIERS = [{"bound": 1000, "unit_amount": "2"}, {"bound": 5000, "unit_amount": "1.5"}, {"unit_amount": "1"}]


def test_graduated_vs_volume_across_a_tier_boundary() -> None:
    # 1,200 units. Graduated: 1,000 x 2c + 200 x 1.5c = 2,300c. Volume: all 1,200 at the 2nd tier's 1.5c = 1,800c.
    assert graduated_amount(Decimal(1200), TIERS) == Decimal(2300)
    assert volume_amount(Decimal(1200), TIERS) == Decimal(1800)
    # Exactly on the bound the unit still belongs to the lower tier.
    assert graduated_amount(Decimal(1000), TIERS) == volume_amount(Decimal(1000), TIERS) == Decimal(2000)
    # 6,000 units: graduated 2,000 + 4,000 x 1.5 + 1,000 x 1 = 9,000; volume 6,000 x 1 = 6,000.
    assert graduated_amount(Decimal(6000), TIERS) == Decimal(9000)
    assert volume_amount(Decimal(6000), TIERS) == Decimal(6000)


def test_package_rounds_up_to_started_packages() -> None:
    assert package_amount(Decimal(0), 1000, 500) == 0
    assert package_amount(Decimal(1), 1000, 500) == 500
    assert package_amount(Decimal(1000), 1000, 500) == 500
    assert package_amount(Decimal(1001), 1000, 500) == 1000
    assert package_amount(Decimal("2500.5"), 1000, 500) == 1500


def test_cap_applies_after_rounding_and_unit_amount_rounds_once_half_up() -> None:
    price = make_price(amount_type="metered_unit", unit_amount="0.005", cap_amount=1000)
    assert metered_line_cents(price, Decimal(100)) == 1  # 0.5c rounds half up to 1c
    assert metered_line_cents(price, Decimal(300)) == 2  # 1.5c -> 2c
    assert metered_line_cents(price, Decimal(10_000_000)) == 1000  # 50,000c capped at 1,000c
    assert to_cents(Decimal("2.4999")) == 2


def test_unit_amount_allows_twelve_decimal_places_and_no_more() -> None:
    assert parse_unit_amount("0.000000000001") == Decimal("1E-12")
    for bad in ("0.0000000000001", "-1", "NaN"):
        try:
            parse_unit_amount(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


tiers_strategy = st.lists(st.tuples(st.integers(1, 50), st.integers(0, 500)), min_size=1, max_size=5).map(
    lambda parts: [
        {"bound": sum(width for width, _ in parts[: i + 1]), "unit_amount": str(Decimal(rate) / 100)}
        for i, (_, rate) in enumerate(parts)
    ][:-1] + [{"unit_amount": str(Decimal(parts[-1][1]) / 100)}]
)


@given(units=st.integers(0, 400), tiers=tiers_strategy)
def test_tiers_against_unit_by_unit_oracle(units: int, tiers: list[dict]) -> None:
    def rate_of(unit_number: int) -> Decimal:  # the tier that covers the n-th unit (1-based)
        for tier in tiers:
            if tier.get("bound") is None or unit_number <= tier["bound"]:
                return Decimal(tier["unit_amount"])
        raise AssertionError

    assert graduated_amount(Decimal(units), tiers) == sum((rate_of(n) for n in range(1, units + 1)), Decimal(0))
    assert volume_amount(Decimal(units), tiers) == (rate_of(units) * units if units else Decimal(0))


@given(st.integers(min_value=0, max_value=20_000), st.sampled_from(["graduated", "volume"]))
def test_each_tier_used_holds_units_within_its_range_and_they_add_up(units: int, kind: str) -> None:
    from functions.billing.pricing import tier_breakdown

    tiers = [{"bound": 1000, "unit_amount": "2"}, {"bound": 5000, "unit_amount": "1"},
             {"bound": None, "unit_amount": "0.5"}]
    uses = tier_breakdown({"type": kind, "tiers": tiers}, Decimal(units))
    assert sum(u.units for u in uses) == units
    if kind == "graduated":  # each tier holds at most its width, and only the last one used is partly full
        assert all(u.last_unit is None or u.units <= u.last_unit - u.first_unit + 1 for u in uses)
        assert [u.tier for u in uses] == list(range(len(uses)))
    else:  # one tier: the one the total falls in
        [use] = uses
        assert use.first_unit <= max(units, 1) and (use.last_unit is None or units <= use.last_unit)
