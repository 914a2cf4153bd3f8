"""One customer's aggregates spread over shard items: writers on different shards add up in every read, and the
cycle close closes every shard, so that no writer starts a shard of a closed period afterwards.

A writer's shard is its execution environment's (functions/events/service.py WRITER_SHARD); here the test's
own process is the writer, put on the shard each step names, beside the local stack's ingest Lambda."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.common.clock import iso, parse_iso
from functions.store.keys import AGGREGATE_SHARDS
from tests.integration.conftest import audit_is_clean, create_meter
from tests.integration.test_billing import close_cycles, invoices, subscribe
from tests.oracle import meter_value


def ingest_on_shard(monkeypatch: pytest.MonkeyPatch, org, shard: int, events: list[dict]) -> int:
    """The events ingested by a writer on `shard`: how many were new."""
    from functions.events import service as ingest_service
    from functions.events.schemas import checked_event

    monkeypatch.setattr(ingest_service.WRITER_SHARD, "current", shard)
    return ingest_service.ingest(org.id, [checked_event(e) for e in events]).inserted


def aggregate_items(org_id: str, customer_id: str, meter_id: str) -> dict[tuple[str, int], dict]:
    """(period start, shard) -> the raw item of the meter's aggregate."""
    from functions.store import dynamo
    from functions.store.keys import aggregate_pk, split_aggregate_sk

    items = dynamo.query_all(TableName=dynamo.table_name(), KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                             ExpressionAttributeValues={":pk": {"S": aggregate_pk(org_id, customer_id)},
                                                        ":p": {"S": "PERIOD#"}}, ConsistentRead=True)
    found = {}
    for item in items:
        meter, period, shard = split_aggregate_sk(item["SK"]["S"])
        if meter == meter_id:
            found[(period, shard)] = item
    return found


def event(customer: str, external_id: str, value: int, **extra) -> dict:
    return {"name": "hot", "external_customer_id": customer, "external_id": external_id, "metadata": {"v": value},
            **extra}


def test_writers_on_three_shards_add_up_in_the_meter_its_quantities_and_the_audit(org, monkeypatch, tmp_path) -> None:
    meters = {f: create_meter(org, f"hot {f}", {"func": f, "property": "v"}) for f in ("sum", "max", "min", "last")}
    assert org.http.post("/v1/events/ingest", json={"events": [event("hot-a", "a0", 5)]}).status_code == 200
    assert ingest_on_shard(monkeypatch, org, 2, [event("hot-a", "a2", 50), event("hot-a", "a2b", 1)]) == 2
    assert ingest_on_shard(monkeypatch, org, 3, [event("hot-a", "a3", 7)]) == 1
    assert ingest_on_shard(monkeypatch, org, 1, [event("hot-a", "a2", 50)]) == 0  # a retry elsewhere: a duplicate
    customer_id = org.http.get("/v1/customers/external/hot-a").json()["id"]
    assert {2, 3} <= {shard for _, shard in aggregate_items(org.id, customer_id, meters["sum"])}
    assert [meter_value(org.http, "hot-a", meters[f]) for f in ("sum", "max", "min")] == [63, 50, 1]
    assert meter_value(org.http, "hot-a", meters["last"]) == 7  # the latest ingested, whichever shard holds it
    listed = org.http.get("/v1/customer-meters/", params={"customer_id": customer_id}).json()["items"]
    assert {row["meter_id"]: row["consumed_units"] for row in listed}[meters["sum"]] == 63  # one row per meter
    now = datetime.now(UTC)
    quantities = org.http.get(f"/v1/meters/{meters['sum']}/quantities", params={
        "start_timestamp": iso(now - timedelta(days=1)), "end_timestamp": iso(now + timedelta(hours=1)),
        "interval": "day", "customer_id": customer_id}).json()
    assert quantities["total"] == 63
    audit_is_clean(org.id, tmp_path)


def test_the_close_closes_every_shard_and_a_later_writer_on_an_unused_one_counts_late(org, monkeypatch) -> None:
    meter_id = create_meter(org, "shard calls", {"func": "sum", "property": "v"})
    product = org.http.post("/v1/products/", json={
        "name": "Sharded", "recurring_interval": "month",
        "prices": [{"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "3"}]})
    assert product.status_code == 201, product.text
    sub = subscribe(org, "hot-b", product.json()["id"])
    start = parse_iso(sub["current_period_start"])
    at = iso(start + timedelta(minutes=1))
    # Writers on shards 0 and 1, named: an ingest Lambda environment keeps the shard an earlier test moved it to.
    assert ingest_on_shard(monkeypatch, org, 0, [event("hot-b", "b0", 10, timestamp=at)]) == 1
    assert ingest_on_shard(monkeypatch, org, 1, [event("hot-b", "b1", 20, timestamp=at)]) == 1
    end = parse_iso(sub["current_period_end"])
    assert close_cycles(end + timedelta(hours=2))["failed"] == 0
    [cycle] = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"]
    [metered] = [line for line in cycle["lines"] if line["kind"] == "metered"]
    assert (metered["quantity"], metered["amount"]) == ("30", 90)  # both shards billed
    customer_id = org.http.get("/v1/customers/external/hot-b").json()["id"]
    period = parse_iso(sub["current_period_start"])
    items = {(parse_iso(p), s): item for (p, s), item in aggregate_items(org.id, customer_id, meter_id).items()}
    closed = {shard for (start, shard), item in items.items() if start == period and item["closed"]["BOOL"]}
    assert closed == set(range(AGGREGATE_SHARDS))  # the two written and the two created closed
    # A writer that never wrote this period, on a shard no one used, finds it closed: the event counts in the
    # open period, late, not in the invoiced one.
    unused = next(s for s in range(AGGREGATE_SHARDS) if s not in (0, 1))
    assert ingest_on_shard(monkeypatch, org, unused, [event("hot-b", "b-late", 4, timestamp=at)]) == 1
    assert meter_value(org.http, "hot-b", meter_id) == 4
    items = {(parse_iso(p), s): item for (p, s), item in aggregate_items(org.id, customer_id, meter_id).items()}
    assert "cnt" not in items[(period, unused)]  # the closed marker took nothing
    [(following, late)] = [(p, item) for (p, s), item in items.items() if p > period and s == unused]
    assert following == parse_iso(sub["current_period_end"]) and (late["cnt"]["N"], late["late_n"]["N"]) == ("1", "1")
