"""Meters: CRUD, backfill on creation, quantities, archive; customers CRUD; isolation between organizations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from functions.common.clock import iso
from tests.integration.conftest import audit_is_clean, create_meter
from tests.isolation import assert_invisible, assert_not_listed
from tests.oracle import meter_value


def ingest(org, events: list[dict]) -> dict:
    response = org.http.post("/v1/events/ingest", json={"events": events})
    assert response.status_code == 200, response.text
    return response.json()


def test_new_meter_backfills_the_open_period_from_stored_events(org, tmp_path) -> None:
    ingest(org, [{"name": "tokens", "external_customer_id": "gina", "external_id": f"b{i}",
                  "metadata": {"n": i, "model": "a" if i % 2 else "b"}} for i in range(30)])
    meter_id = create_meter(org, "tokens of model a", {"func": "sum", "property": "n"},
                            [{"property": "model", "operator": "eq", "value": "a"}])
    odd_sum = sum(i for i in range(30) if i % 2)
    assert meter_value(org.http, "gina", meter_id) == odd_sum
    unique_id = create_meter(org, "models", {"func": "unique", "property": "model"})
    assert meter_value(org.http, "gina", unique_id) == 2
    # New events after creation are added on top of the backfill, not counted twice.
    ingest(org, [{"name": "tokens", "external_customer_id": "gina", "external_id": "after",
                  "metadata": {"n": 100, "model": "a"}}])
    assert meter_value(org.http, "gina", meter_id) == odd_sum + 100
    assert meter_value(org.http, "gina", unique_id) == 2
    audit_is_clean(org.id, tmp_path)


def test_meter_crud_and_archive(org) -> None:
    meter_id = create_meter(org, "requests", {"func": "count"})
    assert org.http.get(f"/v1/meters/{meter_id}").json()["name"] == "requests"
    patched = org.http.patch(f"/v1/meters/{meter_id}", json={"name": "API requests"}).json()
    assert patched["name"] == "API requests" and patched["modified_at"]
    listed = org.http.get("/v1/meters/").json()
    assert meter_id in {m["id"] for m in listed["items"]} and listed["pagination"]["total_count"] >= 1
    archived = org.http.patch(f"/v1/meters/{meter_id}", json={"is_archived": True}).json()
    assert archived["archived_at"]
    assert meter_id not in {m["id"] for m in org.http.get("/v1/meters/").json()["items"]}
    ingest(org, [{"name": "x", "external_customer_id": "hal", "external_id": "arch1"}])
    assert meter_value(org.http, "hal", meter_id) == 0  # an archived meter counts nothing
    bad = org.http.post("/v1/meters/", json={"name": "x", "filter": {"clauses": []}, "aggregation": {"func": "sum"}})
    assert bad.status_code == 422
    huge = org.http.post("/v1/meters/", json={"name": "x", "aggregation": {"func": "count"}, "filter": {
        "clauses": [{"property": "n", "operator": "gt", "value": 1e300}]}})
    assert huge.status_code == 422
    assert org.http.get("/v1/meters/" + "x" * 3000).status_code == 404  # too long to be a key: not found


def test_quantities_timeseries_and_total(org) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    events = [
        {"name": "upload", "external_customer_id": "ivy", "external_id": f"q{i}",
         "timestamp": iso(base + timedelta(hours=i % 3, minutes=5)), "metadata": {"bytes": 10 * (i + 1)}}
        for i in range(6)
    ]
    ingest(org, events)
    response = org.http.get(f"/v1/meters/{meter_id}/quantities", params={
        "start_timestamp": iso(base), "end_timestamp": iso(base + timedelta(hours=2, minutes=59)), "interval": "hour"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [q["quantity"] for q in body["quantities"]] == [10 + 40, 20 + 50, 30 + 60]
    assert body["total"] == 210
    missing = org.http.get(f"/v1/meters/{meter_id}/quantities", params={"interval": "hour"})
    assert missing.status_code == 422


def test_customers_crud(org) -> None:
    created = org.http.post("/v1/customers/", json={"email": "a@example.com", "name": "A", "external_id": "ext-a"})
    assert created.status_code == 201, created.text
    customer = created.json()
    again = org.http.post("/v1/customers/", json={"email": "A@example.com"})
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "email"]
    assert org.http.get(f"/v1/customers/{customer['id']}").json()["email"] == "a@example.com"
    assert org.http.get("/v1/customers/external/ext-a").json()["id"] == customer["id"]
    updated = org.http.patch(f"/v1/customers/{customer['id']}", json={"name": "B", "email": "b@example.com"})
    assert updated.json()["name"] == "B"
    assert org.http.post("/v1/customers/", json={"email": "a@example.com"}).status_code == 201  # freed
    assert org.http.delete(f"/v1/customers/{customer['id']}").status_code == 204
    assert org.http.get(f"/v1/customers/{customer['id']}").status_code == 404
    assert org.http.get("/v1/customers/external/ext-a").status_code == 404


def test_one_organization_cannot_see_or_touch_another(org, other_org) -> None:
    meter_id = create_meter(org, "secret", {"func": "count"})
    ingest(org, [{"name": "e", "external_customer_id": "private", "external_id": "p1"}])
    customer = org.http.get("/v1/customers/external/private").json()
    event_id = org.http.get("/v1/events/", params={"customer_id": customer["id"]}).json()["items"][0]["id"]
    cm_id = org.http.get("/v1/customer-meters/", params={"customer_id": customer["id"]}).json()["items"][0]["id"]
    assert_invisible(other_org.http, [
        f"/v1/customers/{customer['id']}", "/v1/customers/external/private", f"/v1/meters/{meter_id}",
        f"/v1/events/{event_id}", f"/v1/customer-meters/{cm_id}", f"/v1/customers/{customer['id']}/state",
        f"/v1/meters/{meter_id}/quantities?start_timestamp=2026-01-01T00:00:00Z&end_timestamp=2026-01-02T00:00:00Z",
    ])
    assert_not_listed(other_org.http, "/v1/customers/", [customer["id"]])
    assert_not_listed(other_org.http, "/v1/meters/", [meter_id])
    assert_not_listed(other_org.http, "/v1/events/", [event_id])
    assert_not_listed(other_org.http, "/v1/customer-meters/", [cm_id])
    # Writes: another organization's customer id is unknown to this token, and nothing is written.
    sneaky = other_org.http.post("/v1/events/ingest", json={"events": [{"name": "e", "customer_id": customer["id"]}]})
    assert sneaky.status_code == 422
    assert other_org.http.patch(f"/v1/meters/{meter_id}", json={"name": "x"}).status_code == 404
    assert other_org.http.delete(f"/v1/customers/{customer['id']}").status_code == 404
    assert org.http.get(f"/v1/customers/{customer['id']}").status_code == 200


def test_catch_up_backfill_counts_an_ingest_that_raced_the_meters_creation(org, local_stack, edge_hooks,
                                                                          tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from functions.meters import service as meter_service
    from local_stack.cli import main

    ingest(org, [{"name": "job", "external_customer_id": "racy", "external_id": "before",
                  "metadata": {"cost": 5}}])
    # An ingest request that read the (empty) meter list just before the meter was created, held at its write ...
    ingest_role = local_stack.stack.functions[local_stack.function_name("ingest")].role
    at_write, release = threading.Event(), threading.Event()

    def hold_ingest_write(when: str, principal: str, service: str, operation: str):
        if when == "before" and principal == ingest_role and operation == "TransactWriteItems":
            at_write.set()
            release.wait(30)
        return None

    edge_hooks.append(hold_ingest_write)
    raced = threading.Thread(target=ingest, args=(org, [{"name": "job", "external_customer_id": "racy",
                                                         "external_id": "raced", "metadata": {"cost": 7}}]))
    raced.start()
    assert at_write.wait(30)
    meter_id = create_meter(org, "cost", {"func": "sum", "property": "cost"})
    assert meter_value(org.http, "racy", meter_id) == 5  # the creation's backfill counted the old event
    # ... and committed after that backfill read the events: neither ingest nor the backfill counted it.
    release.set()
    raced.join(30)
    edge_hooks.clear()
    assert meter_value(org.http, "racy", meter_id) == 5
    assert main(["--state-dir", str(tmp_path), "audit", "--org", org.id]) == 1  # the audit sees the gap
    # The catch-up (run by the cycle-close Lambda a couple of minutes later) closes it, once.
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert meter_service.catch_up_backfills(later) >= 1
    assert meter_value(org.http, "racy", meter_id) == 12
    ingest(org, [{"name": "job", "external_customer_id": "racy", "external_id": "after", "metadata": {"cost": 1}}])
    assert meter_service.catch_up_backfills(later) == 0  # done: not pending any more
    meter_service.backfill(org.id, meter_service.get(org.id, meter_id))  # and a repeat adds nothing
    assert meter_value(org.http, "racy", meter_id) == 13
    audit_is_clean(org.id, tmp_path)


def test_a_backfill_write_into_a_closed_period_is_period_closed_a_moved_one_a_conflict(org) -> None:
    import pytest

    from functions.common.errors import Conflict, PeriodClosed
    from functions.store import aggregates

    meter_id = create_meter(org, "closing", {"func": "count"})
    ingest(org, [{"name": "job", "external_customer_id": "closer"}])
    customer_id = org.http.get("/v1/customers/external/closer").json()["id"]
    [read] = [a for a in aggregates.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id]
    ingest(org, [{"name": "job", "external_customer_id": "closer"}])  # another writer moves the version
    with pytest.raises(Conflict) as moved:
        aggregates.put_aggregate(org.id, read, read.version)
    assert not isinstance(moved.value, PeriodClosed)
    [current] = [a for a in aggregates.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id]
    aggregates.mark_closed(org.id, current)  # the cycle close
    with pytest.raises(PeriodClosed) as closed:
        aggregates.put_aggregate(org.id, current, current.version + 1)
    assert closed.value.keys == {current.key}
    assert meter_value(org.http, "closer", meter_id) == 0  # nothing open; the closed period kept its 2
    [kept] = [a for a in aggregates.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id]
    assert (kept.closed, kept.state.count) == (True, 2)
