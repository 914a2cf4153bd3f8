"""Aggregations: partial states merged in any chunking equal a direct computation over all events."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from functions.events.schemas import metered_number
from functions.meters.aggregation import Partial, value_of
from functions.meters.matching import compile_meters, event_state
from tests.unit.entities import meter

# Numbers as ingest accepts them (functions/events/schemas.py: below 10^16, at most 12 decimal places).
metered_floats = st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: round(f, 6)).filter(metered_number)
prop_values = st.one_of(st.integers(-1000, 1000), metered_floats, st.text(max_size=3),
                        st.booleans(), st.none())
events = st.lists(prop_values, max_size=40)


def contribution(aggregation: dict, event: dict, timestamp: str) -> Partial | None:
    """What one event adds to a meter with this aggregation, through the compiled meter ingest uses; None for
    nothing."""
    state = event_state(compile_meters([meter("m", aggregation)]), event, timestamp, "e")
    return state if state.count or state.uniques else None


def oracle(func: str, raw: list) -> Decimal:
    numbers = [Decimal(repr(v)) if isinstance(v, float) else Decimal(v) for v in raw
               if isinstance(v, int | float) and not isinstance(v, bool)]
    if func == "count":
        return Decimal(len(raw))
    if func == "sum":
        return sum(numbers, Decimal(0))
    if func == "avg":
        return sum(numbers, Decimal(0)) / len(numbers) if numbers else Decimal(0)
    if func == "min":
        return min(numbers) if numbers else Decimal(0)
    if func == "max":
        return max(numbers) if numbers else Decimal(0)
    if func == "last":
        return numbers[-1] if numbers else Decimal(0)
    if func == "unique":
        seen = set()
        for v in raw:
            if v is None:
                continue
            if isinstance(v, bool):
                seen.add(("b", v))
            elif isinstance(v, int | float):
                seen.add(("n", Decimal(repr(v)) if isinstance(v, float) else Decimal(v)))
            else:
                seen.add(("s", v))
        return Decimal(len(seen))
    raise AssertionError(func)


@given(func=st.sampled_from(["count", "sum", "avg", "min", "max", "unique", "last"]), raw=events,
       cuts=st.lists(st.integers(0, 40), max_size=5))
def test_chunked_merge_equals_oracle(func, raw, cuts) -> None:
    aggregation = {"func": func} if func == "count" else {"func": func, "property": "p"}
    bounds = sorted({0, len(raw), *[c for c in cuts if c <= len(raw)]})
    total = Partial()
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        chunk = Partial()
        for i in range(lo, hi):
            # Timestamps increase with the index, so `last` is the final numeric value.
            part = contribution(aggregation, {"metadata": {"p": raw[i]}}, f"2026-11-01T00:00:{i:02d}.000000Z")
            if part is not None:
                chunk.merge(part)
        total.merge(chunk)
    assert value_of(func, total) == oracle(func, raw)


def test_bool_is_not_a_number_and_one_and_one_point_zero_are_one_value() -> None:
    assert contribution({"func": "sum", "property": "p"}, {"metadata": {"p": True}}, "t") is None
    a = contribution({"func": "unique", "property": "p"}, {"metadata": {"p": 1}}, "t")
    b = contribution({"func": "unique", "property": "p"}, {"metadata": {"p": 1.0}}, "t")
    c = contribution({"func": "unique", "property": "p"}, {"metadata": {"p": "1"}}, "t")
    assert a and b and c
    assert len(a.merge(b).merge(c).uniques) == 2
