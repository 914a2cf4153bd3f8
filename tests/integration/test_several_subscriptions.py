"""Several subscriptions per customer (docs/billing.md, Several subscriptions): each meter counts in the cycle of
the subscription that prices it and is billed by that subscription alone; a meter priced twice is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.common.clock import iso, parse_iso
from tests.integration.conftest import audit_is_clean, create_meter
from tests.integration.test_billing import close_cycles, invoices, subscribe


def _ingest(org, events: list[tuple[str, dict]], prefix: str) -> None:
    body = [{"name": name, "external_customer_id": "multi", "external_id": f"{prefix}-{i}", "metadata": metadata}
            for i, (name, metadata) in enumerate(events)]
    response = org.http.post("/v1/events/ingest", json={"events": body})
    assert response.status_code == 200, response.text


def _product(org, name: str, interval: str, prices: list[dict]) -> str:
    response = org.http.post("/v1/products/", json={"name": name, "recurring_interval": interval, "prices": prices})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _meters(org) -> dict[str, tuple[float, str, str]]:
    rows = org.http.get("/v1/customer-meters/", params={"external_customer_id": "multi"}).json()["items"]
    return {row["meter_id"]: (row["consumed_units"], row["period_start"], row["period_end"]) for row in rows}


def _metered(invoice: dict) -> list[tuple[str, int, str]]:
    return [(line["meter_id"], line["amount"], line["consumed_units"]) for line in invoice["lines"]
            if line["kind"] == "metered"]


def test_two_subscriptions_bill_their_own_meters_on_their_own_cycles(org, tmp_path) -> None:
    calls = create_meter(org, "calls", {"func": "sum", "property": "n"},
                         [{"property": "name", "operator": "eq", "value": "api_call"}])
    storage = create_meter(org, "storage", {"func": "max", "property": "gb"},
                           [{"property": "name", "operator": "eq", "value": "storage"}])
    api_plan = _product(org, "API", "month", [
        {"amount_type": "fixed", "price_amount": 1000},
        {"amount_type": "metered_unit", "meter_id": calls, "unit_amount": "2"}])
    storage_plan = _product(org, "Storage", "year", [
        {"amount_type": "metered_unit", "meter_id": storage, "unit_amount": "100"}])
    api = subscribe(org, "multi", api_plan)
    anchor = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    created = org.http.post("/v1/subscriptions/", json={"external_customer_id": "multi", "product_id": storage_plan,
                                                        "billing_cycle_anchor": iso(anchor)})
    assert created.status_code == 201, created.text
    store = created.json()
    assert store["current_period_end"] == iso(anchor) != api["current_period_end"]

    # A third product pricing `calls` again would bill the same usage twice: refused, creating or switching.
    twice = _product(org, "Calls again", "year", [{"amount_type": "metered_unit", "meter_id": calls,
                                                   "unit_amount": "1"}])
    refused = org.http.post("/v1/subscriptions/", json={"external_customer_id": "multi", "product_id": twice})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "product_id"] and api["id"] in refused.text
    switched = org.http.patch(f"/v1/subscriptions/{store['id']}", json={"product_id": twice})
    assert switched.status_code == 422 and switched.json()["detail"][0]["loc"] == ["body", "product_id"]

    _ingest(org, [("api_call", {"n": 5}), ("api_call", {"n": 7}), ("storage", {"gb": 3}), ("storage", {"gb": 9})],
            "a")
    # Each meter's customer meter is in its own subscription's period.
    assert _meters(org) == {calls: (12, api["current_period_start"], api["current_period_end"]),
                            storage: (9, store["current_period_start"], iso(anchor))}

    # The storage subscription's period ends first: its invoice bills storage only, 9 GB x 100 cents.
    assert close_cycles(anchor + timedelta(hours=2))["failed"] == 0
    [store_cycle] = [i for i in invoices(org, store["id"]) if i["billing_reason"] == "subscription_cycle"]
    assert _metered(store_cycle) == [(storage, 900, "9")] and store_cycle["subtotal"] == 900
    assert [i["billing_reason"] for i in invoices(org, api["id"])] == ["subscription_create"]
    # Its renewal moved storage to the next (yearly) period; calls still count in the API plan's month.
    renewed = org.http.get(f"/v1/subscriptions/{store['id']}").json()
    assert renewed["current_period_start"] == iso(anchor)
    _ingest(org, [("api_call", {"n": 4}), ("storage", {"gb": 2})], "b")
    # The storage event is dated before the storage period that is open now: it counts there, late; the calls
    # event counts in the API plan's open month, which is not closed.
    assert _meters(org) == {calls: (16, api["current_period_start"], api["current_period_end"]),
                            storage: (2, iso(anchor), renewed["current_period_end"])}

    api_end = parse_iso(api["current_period_end"])
    assert close_cycles(api_end + timedelta(hours=2))["failed"] == 0
    [api_cycle] = [i for i in invoices(org, api["id"]) if i["billing_reason"] == "subscription_cycle"]
    # 16 calls x 2 cents, and the next month's fee in advance; no storage line.
    assert _metered(api_cycle) == [(calls, 32, "16")] and api_cycle["subtotal"] == 32 + 1000
    audit_is_clean(org.id, tmp_path)

    # Deleting the customer cancels both, each with a final invoice.
    customer_id = api["customer_id"]
    assert org.http.delete(f"/v1/customers/{customer_id}").status_code == 204
    for sub in (api, store):
        assert org.http.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "canceled"
        assert "subscription_cancel" in {i["billing_reason"] for i in invoices(org, sub["id"])}
    [final_storage] = [i for i in invoices(org, store["id"]) if i["billing_reason"] == "subscription_cancel"]
    assert _metered(final_storage) == [(storage, 200, "2")]


def test_a_subscription_created_from_a_stale_read_of_the_customer_is_not_written(org, monkeypatch) -> None:
    """Two creations racing for one meter: the second read the customer before the first committed. Its write is
    conditional on the customer's billing version, so it re-reads, sees the meter priced, and is refused."""
    from functions.billing import subscriptions
    from functions.billing.schemas import SubscriptionCreate
    from functions.common.errors import ValidationFailed
    from functions.store import customers as customer_store

    calls = create_meter(org, "calls", {"func": "count"}, [])
    first = _product(org, "First", "month", [{"amount_type": "metered_unit", "meter_id": calls, "unit_amount": "1"}])
    second = _product(org, "Second", "month", [{"amount_type": "metered_unit", "meter_id": calls,
                                                "unit_amount": "3"}])
    org.http.post("/v1/customers/", json={"email": "race@example.com", "external_id": "race"})
    stale = customer_store.find(org.id, customer_store.CustomerRef(external_customer_id="race"))
    assert org.http.post("/v1/subscriptions/", json={"external_customer_id": "race", "product_id": first}
                         ).status_code == 201
    fresh_find = customer_store.find
    reads = iter([stale])  # the creation's first read is the stale one; a re-read is fresh
    monkeypatch.setattr(subscriptions.customer_store, "find", lambda *a: next(reads, None) or fresh_find(*a))
    body = SubscriptionCreate.model_validate({"external_customer_id": "race", "product_id": second})
    try:
        subscriptions.create_subscription(org.id, body, publish=lambda _: None)
    except ValidationFailed as refused:
        assert refused.errors[0]["loc"] == ["body", "product_id"]
    else:
        raise AssertionError("a second subscription pricing the same meter was written")
    listed = org.http.get("/v1/subscriptions/", params={"customer_id": stale.id}).json()["items"]
    assert [s["product_id"] for s in listed] == [first]
