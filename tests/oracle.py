"""A straightforward oracle for meters: what a customer meter should read, from the events sent."""

from __future__ import annotations

from decimal import Decimal


def expected_sum(events: list[dict], prop: str) -> Decimal:
    total = Decimal(0)
    for e in events:
        v = e.get("metadata", {}).get(prop)
        if isinstance(v, int | float) and not isinstance(v, bool):
            total += Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
    return total


def meter_value(org_http, customer_external_id: str, meter_id: str):
    state = org_http.get(f"/v1/customers/external/{customer_external_id}/state").json()
    for row in state["active_meters"]:
        if row["meter_id"] == meter_id:
            return row["consumed_units"]
    return 0
