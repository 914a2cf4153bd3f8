"""Meter quantities from the hour and day buckets ingest writes with the aggregates, through the API.

What the buckets must hold is checked against an oracle computed here from the events sent, and against the
audit (which recomputes every bucket from the stored events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from functions.common.clock import iso
from tests.integration.conftest import audit_is_clean, create_meter

# Three days back, so that every bucket is in the past and the ranges below are fixed.
DAY0 = (datetime.now(UTC) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)


def ingest(org, events: list[dict]) -> dict:
    response = org.http.post("/v1/events/ingest", json={"events": events})
    assert response.status_code == 200, response.text
    return response.json()


def quantities(org, meter_id: str, start: datetime, end: datetime, interval: str, **customer) -> dict:
    response = org.http.get(f"/v1/meters/{meter_id}/quantities", params={
        "start_timestamp": iso(start), "end_timestamp": iso(end), "interval": interval, **customer})
    assert response.status_code == 200, response.text
    return response.json()


def sent(customer: str, prefix: str) -> list[dict]:
    """Events over two days: hours 1, 1, 5 of DAY0 and hour 2 of the next day, values 1..n."""
    offsets = [timedelta(hours=1, minutes=5), timedelta(hours=1, minutes=50), timedelta(hours=5),
               timedelta(days=1, hours=2, minutes=30)]
    return [{"name": "call", "external_customer_id": customer, "external_id": f"{prefix}{i}",
             "timestamp": iso(DAY0 + at), "metadata": {"v": (i + 1) * 10 + (0.5 if i == 2 else 0)}}
            for i, at in enumerate(offsets)]


def test_every_function_reads_its_buckets_per_hour_day_and_month(org, tmp_path) -> None:
    meters = {f: create_meter(org, f"v {f}", {"func": f, "property": "v"} if f != "count" else {"func": f})
              for f in ("count", "sum", "max", "min", "avg", "last")}
    events = sent("qa", "a")
    ingest(org, events)
    values = [Decimal(repr(e["metadata"]["v"])) for e in events]  # 10, 20, 30.5, 40
    end = DAY0 + timedelta(days=2) - timedelta(microseconds=1)
    hourly = quantities(org, meters["sum"], DAY0, end, "hour")
    assert len(hourly["quantities"]) == 48
    by_hour = {q["timestamp"]: q["quantity"] for q in hourly["quantities"] if q["quantity"]}
    assert by_hour == {iso(DAY0 + timedelta(hours=1)): 30, iso(DAY0 + timedelta(hours=5)): 30.5,
                       iso(DAY0 + timedelta(days=1, hours=2)): 40}
    expected_daily = {
        "count": ([3, 1], 4), "sum": ([60.5, 40], 100.5), "max": ([30.5, 40], 40), "min": ([10, 40], 10),
        "avg": ([float(sum(values[:3]) / 3), 40], float(sum(values) / 4)), "last": ([30.5, 40], 40),
    }
    for func, (daily, total) in expected_daily.items():
        body = quantities(org, meters[func], DAY0, end, "day")
        assert ([q["quantity"] for q in body["quantities"]], body["total"]) == (daily, total), func
    monthly = quantities(org, meters["sum"], DAY0, end, "month")
    assert sum(q["quantity"] for q in monthly["quantities"]) == 100.5 and monthly["total"] == 100.5
    audit_is_clean(org.id, tmp_path)


def test_a_replayed_batch_and_another_customer_change_only_what_they_should(org, tmp_path) -> None:
    meter_id = create_meter(org, "v", {"func": "sum", "property": "v"})
    ingest(org, sent("qb", "b"))
    assert ingest(org, sent("qb", "b"))["duplicates"] == 4  # the retry's transaction writes no bucket
    ingest(org, sent("qc", "c")[:1])
    end = DAY0 + timedelta(days=2) - timedelta(microseconds=1)
    assert quantities(org, meter_id, DAY0, end, "day", external_customer_id="qb")["total"] == 100.5
    assert quantities(org, meter_id, DAY0, end, "day", external_customer_id="qc")["total"] == 10
    assert quantities(org, meter_id, DAY0, end, "day")["total"] == 110.5  # every customer
    assert quantities(org, meter_id, DAY0, end, "day", external_customer_id="nobody")["total"] == 0
    audit_is_clean(org.id, tmp_path)


def test_a_meter_created_after_its_events_reads_them_from_its_backfill_once(org, tmp_path) -> None:
    from functions.meters import service as meter_service

    ingest(org, sent("qd", "d"))
    meter_id = create_meter(org, "late v", {"func": "max", "property": "v"})
    count_id = create_meter(org, "late count", {"func": "count"})
    end = DAY0 + timedelta(days=2) - timedelta(microseconds=1)
    assert [q["quantity"] for q in quantities(org, meter_id, DAY0, end, "day")["quantities"]] == [30.5, 40]
    meter_service.backfill(org.id, meter_service.get(org.id, count_id))  # the catch-up: the same, not more
    ingest(org, [{"name": "call", "external_customer_id": "qd", "external_id": "d-after",
                  "timestamp": iso(DAY0 + timedelta(hours=5, minutes=1)), "metadata": {"v": 1}}])
    body = quantities(org, count_id, DAY0, end, "day")
    assert ([q["quantity"] for q in body["quantities"]], body["total"]) == ([4, 1], 5)  # backfill's and ingest's
    audit_is_clean(org.id, tmp_path)


def test_a_unique_meter_counts_distinct_values_per_interval_from_its_events(org) -> None:
    meter_id = create_meter(org, "distinct v", {"func": "unique", "property": "v"})
    events = sent("qe", "e") + [{"name": "call", "external_customer_id": "qe", "external_id": "e-again",
                                 "timestamp": iso(DAY0 + timedelta(days=1, hours=3)), "metadata": {"v": 10}}]
    ingest(org, events)
    body = quantities(org, meter_id, DAY0, DAY0 + timedelta(days=2) - timedelta(microseconds=1), "day")
    # Day two holds 40 and 10 (10 again, seen on day one): 2 that day, 4 distinct over both.
    assert ([q["quantity"] for q in body["quantities"]], body["total"]) == ([3, 2], 4)


def test_a_range_of_more_intervals_than_the_cap_is_422_naming_the_limit(org) -> None:
    meter_id = create_meter(org, "capped", {"func": "count"})
    start = datetime(2020, 1, 1, tzinfo=UTC)
    response = org.http.get(f"/v1/meters/{meter_id}/quantities", params={
        "start_timestamp": iso(start), "end_timestamp": iso(start + timedelta(hours=10_001)), "interval": "hour"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "interval"] and "10000" in error["msg"]
    fits = org.http.get(f"/v1/meters/{meter_id}/quantities", params={
        "start_timestamp": iso(start), "end_timestamp": iso(start + timedelta(hours=9_999)), "interval": "hour"})
    assert fits.status_code == 200 and len(fits.json()["quantities"]) == 10_000
