from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from functions.store.codec import decimal_attr, from_item, to_attr, to_item

scalars = st.one_of(
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.dictionaries(st.text(min_size=1, max_size=10), scalars, max_size=8))
def test_metadata_round_trips_with_its_types(metadata: dict) -> None:
    back = from_item(to_item({"m": metadata}))["m"]
    assert back == metadata
    for key, value in metadata.items():
        assert type(back[key]) is type(value)


def test_decimals_are_exact() -> None:
    assert to_attr(Decimal("0.1") + Decimal("0.2")) == {"N": "0.3"}
    assert decimal_attr({"N": "0.30"}) == Decimal("0.3")


@given(st.text(max_size=60))
def test_name_id_is_uuid5(name: str) -> None:
    import uuid

    from functions.common.ids import name_id

    namespace = uuid.UUID("5b0c2a51-8a4e-4d7e-9d3e-6f1f7b2c9a10")
    assert name_id(namespace, name) == str(uuid.uuid5(namespace, name))


@given(st.datetimes(timezones=st.just(__import__("datetime").UTC)))
def test_iso_is_fixed_width_utc_with_z(moment) -> None:
    from functions.common.clock import iso, parse_iso

    text = iso(moment)
    assert len(text) == 27 and text.endswith("Z") and parse_iso(text) == moment
