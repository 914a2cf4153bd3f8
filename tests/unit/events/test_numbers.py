"""The metered-number rule and exact sums. Pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.events.schemas import metered_number
from functions.meters.aggregation import NotExact, Partial, exact_add


@pytest.mark.parametrize("value", [0, 1, -1, 9_999_999_999_999_999, -9_999_999_999_999_999, 0.5, 1e-12, 1e15,
                                   0.000000000001, 123.456, 9999.999999999999, True, Decimal("1.500000000000000"),
                                   -0.0])
def test_accepted(value) -> None:
    assert metered_number(value)


@pytest.mark.parametrize("value", [10**16, -(10**16), 1e16, 1e99, 1e-99, 1e-13, 0.1 + 0.2, 1 / 3, float("nan"),
                                   float("inf"), float("-inf"), Decimal("1e-13"), Decimal("NaN"), 10**40])
def test_refused(value) -> None:
    assert not metered_number(value)


def test_sums_of_many_maximal_values_stay_exact() -> None:
    biggest = Decimal("9999999999999999.999999999999")
    total = Partial()
    for _ in range(1000):
        total.merge(Partial(count=1, total=biggest))
    assert total.total == biggest * 1000  # 31 digits: the default 28-digit context would have rounded this
    assert exact_add(Decimal(10**37), Decimal(1)) == Decimal(10**37 + 1)


def test_a_sum_beyond_38_digits_raises_instead_of_rounding() -> None:
    with pytest.raises(NotExact):
        exact_add(Decimal(10**37 + 1), Decimal("0.5"))
    with pytest.raises(NotExact):
        Partial(total=Decimal("1e99")).merge(Partial(total=Decimal("1e-99")))
