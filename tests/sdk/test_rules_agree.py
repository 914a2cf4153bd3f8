"""The SDK's caller-side check agrees with the server's own validator (functions/events/schemas.py) on generated
events: whatever track() accepts, the API accepts, and whatever the API would refuse, track() refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.events.schemas import checked_event
from meterbill_sdk.events import InvalidEvent, check_event, encode

short_text = st.text(alphabet="ab_", min_size=0, max_size=3)
sized_text = st.one_of(short_text, st.integers(125, 131).map(lambda n: "n" * n),
                       st.integers(38, 42).map(lambda n: "k" * n), st.integers(498, 502).map(lambda n: "v" * n))
numbers = st.one_of(
    st.integers(-3, 3), st.sampled_from([10**16 - 1, 10**16, -(10**16 - 1), -(10**16), 10**30]),
    st.sampled_from([0.0, 1e-12, 1e-13, 0.1 + 0.2, 9.9e15, 1e16, 1e-100, float("inf"), float("nan"), -2.5]))
scalars = st.one_of(sized_text, numbers, st.booleans(), st.none(), st.lists(st.integers(), max_size=1))
metadata = st.one_of(
    st.none(),
    st.dictionaries(sized_text, st.one_of(scalars, st.dictionaries(short_text, scalars, max_size=2)), max_size=4),
    st.integers(49, 51).map(lambda n: {f"k{i}": i for i in range(n)}))
offsets = st.sampled_from([None, "naive", timedelta(days=-36), timedelta(days=-34), timedelta(minutes=4),
                           timedelta(minutes=6), timedelta(0)])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=sized_text, customer=st.sampled_from(["external", "internal", "both", "neither", "empty"]),
       metadata=metadata, offset=offsets, external_id=st.one_of(st.none(), sized_text))
def test_the_sdk_accepts_exactly_what_the_api_accepts(name, customer, metadata, offset, external_id) -> None:
    external = {"external": "cust", "both": "cust", "empty": ""}.get(customer)
    internal = {"internal": "cus_1", "both": "cus_1"}.get(customer)
    timestamp = None
    if offset == "naive":
        timestamp = datetime.now()  # noqa: DTZ005 - the naive case is under test
    elif offset is not None:
        timestamp = datetime.now(UTC) + offset
    try:
        clean, moment = check_event(name, external, internal, metadata, timestamp, external_id)
        sdk_accepts = True
    except InvalidEvent:
        sdk_accepts = False
    raw = {"name": name, "external_customer_id": external, "customer_id": internal, "metadata": metadata or {},
           "external_id": external_id, "timestamp": timestamp.isoformat() if timestamp else None}
    try:
        checked_event(raw)
        api_accepts = True
    except ValidationError:
        api_accepts = False
    assert sdk_accepts == api_accepts, raw
    if sdk_accepts:  # and what the SDK sends is what the API accepted
        checked_event(json.loads(encode((name, external, internal, clean, moment, external_id or 1),
                                                     "prefix")))
