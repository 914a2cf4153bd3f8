"""Ingestion over real HTTP against DynamoDB Local: exactly once, atomic, read-your-writes, late events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from functions.common.clock import iso
from functions.store import aggregates as usage
from tests.integration.conftest import audit_is_clean, create_meter
from tests.oracle import meter_value


def batch(customer: str, start: int, n: int, prefix: str = "e") -> list[dict]:
    """Distinct increasing timestamps, so the oracle's `last` is the last event sent."""
    base = datetime.now(UTC) - timedelta(minutes=1)
    return [
        {"name": "api_call", "external_customer_id": customer, "external_id": f"{prefix}{i}",
         "timestamp": iso(base + timedelta(milliseconds=i)), "metadata": {"ms": (i * 7) % 23 - 3}}
        for i in range(start, start + n)
    ]


def oracle(events: list[dict]) -> dict[str, Decimal]:
    values = [Decimal(e["metadata"]["ms"]) for e in events if e["name"] == "api_call"]
    return {
        "count": Decimal(len(values)), "sum": sum(values, Decimal(0)),
        "avg": sum(values, Decimal(0)) / len(values), "min": min(values), "max": max(values),
        "unique": Decimal(len(set(values))), "last": values[-1],
    }


def assert_meters_equal(org, customer: str, meters: dict[str, str], events: list[dict]) -> None:
    want = oracle(events)
    for func, meter_id in meters.items():
        got = Decimal(str(meter_value(org.http, customer, meter_id)))
        assert abs(got - want[func]) < Decimal("1e-9"), (func, got, want[func])


def test_same_batch_three_times_concurrently_counts_once(org, api_calls_meters, tmp_path) -> None:
    events = batch("alice", 0, 250)
    results: list[dict] = []

    def send() -> None:
        response = org.http.post("/v1/events/ingest", json={"events": events})
        assert response.status_code == 200, response.text
        results.append(response.json())

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["inserted"] for r in results) == 250
    assert sum(r["duplicates"] for r in results) == 500
    assert_meters_equal(org, "alice", api_calls_meters, events)
    audit_is_clean(org.id, tmp_path)


def test_duplicates_inside_one_request(org, api_calls_meters, tmp_path) -> None:
    events = batch("bob", 0, 10)
    response = org.http.post("/v1/events/ingest", json={"events": events + events[:4]})
    assert response.json() == {"inserted": 10, "duplicates": 4}
    assert_meters_equal(org, "bob", api_calls_meters, events)
    audit_is_clean(org.id, tmp_path)


def kill_ingest_at(local_stack, edge_hooks, phase: str, transaction: int) -> None:
    """SIGKILL the ingest Lambda's environment before its N-th TransactWriteItems reaches DynamoDB ("before"), or
    once DynamoDB committed it but before the reply reaches the Lambda ("committed")."""
    ingest = local_stack.function_name("ingest")
    role = local_stack.stack.functions[ingest].role
    seen = {"n": 0}

    def hook(when: str, principal: str, service: str, operation: str):
        if principal == role and operation == "TransactWriteItems" and when == "before":
            seen["n"] += 1
        if principal == role and operation == "TransactWriteItems" and when == phase and seen["n"] == transaction:
            local_stack.runtime.pools[ingest].kill_running()
            if phase == "before":  # the request never reaches DynamoDB
                return 500, {"Content-Type": "application/x-amz-json-1.0"}, b'{"__type": "InternalFailure"}'
        return None

    edge_hooks.append(hook)


def transactions_of_one_request(org, local_stack, edge_hooks, events: list[dict]) -> int:
    """How many TransactWriteItems the ingest Lambda sends for `events` (the same request for a new customer)."""
    ingest_role = local_stack.stack.functions[local_stack.function_name("ingest")].role
    counted = {"n": 0}

    def count(when: str, principal: str, service: str, operation: str):
        if when == "after" and principal == ingest_role and operation == "TransactWriteItems":
            counted["n"] += 1

    edge_hooks.append(count)
    assert org.http.post("/v1/events/ingest", json={"events": events}).status_code == 200
    edge_hooks.remove(count)
    return counted["n"]


def test_crash_after_commit_before_reply_then_retry(org, api_calls_meters, local_stack, edge_hooks,
                                                    tmp_path) -> None:
    events = batch("carol", 0, 150)
    last = transactions_of_one_request(org, local_stack, edge_hooks, batch("carol-twin", 0, 150, prefix="twin"))
    # The last chunk commits, then the Lambda's environment dies before it hears so, let alone answers.
    kill_ingest_at(local_stack, edge_hooks, "committed", last)
    assert org.http.post("/v1/events/ingest", json={"events": events}).status_code == 500
    edge_hooks.clear()
    retry = org.http.post("/v1/events/ingest", json={"events": events}).json()
    assert retry == {"inserted": 0, "duplicates": 150}
    assert_meters_equal(org, "carol", api_calls_meters, events)
    audit_is_clean(org.id, tmp_path)


def test_crash_between_two_chunks_then_retry(org, api_calls_meters, local_stack, edge_hooks, tmp_path) -> None:
    events = batch("dave", 0, 300)
    last = transactions_of_one_request(org, local_stack, edge_hooks, batch("dave-twin", 0, 300, prefix="twin"))
    assert last >= 3  # the customer's creation, then at least two chunks
    kill_ingest_at(local_stack, edge_hooks, "before", last)  # every chunk but the last committed
    assert org.http.post("/v1/events/ingest", json={"events": events}).status_code == 500
    edge_hooks.clear()
    # Part of the batch counted already: the meter is exact for what was committed, nothing half-written.
    audit_is_clean(org.id, tmp_path)
    retry = org.http.post("/v1/events/ingest", json={"events": events}).json()
    assert retry["inserted"] + retry["duplicates"] == 300 and 0 < retry["duplicates"] < 300
    assert_meters_equal(org, "dave", api_calls_meters, events)
    audit_is_clean(org.id, tmp_path)


def test_concurrent_distinct_batches_keep_min_max_last_unique_exact(org, api_calls_meters, tmp_path) -> None:
    batches = [batch("erin", k * 60, 60, prefix=f"t{k}-") for k in range(4)]
    threads = [
        threading.Thread(target=lambda b=b: org.http.post("/v1/events/ingest", json={"events": b}))
        for b in batches
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [e for b in batches for e in b]
    got = {f: Decimal(str(meter_value(org.http, "erin", m))) for f, m in api_calls_meters.items()}
    want = oracle(everything)
    for func in ("count", "sum", "min", "max", "unique"):
        assert got[func] == want[func], func
    audit_is_clean(org.id, tmp_path)


def test_late_events_after_close_land_in_open_period_once(org, api_calls_meters, tmp_path) -> None:
    now = datetime.now(UTC)
    last_month = datetime(now.year, now.month, 1, tzinfo=UTC) - timedelta(hours=1)
    old = [{**e, "timestamp": iso(last_month)} for e in batch("frank", 0, 5, prefix="old")]
    assert org.http.post("/v1/events/ingest", json={"events": old}).json()["inserted"] == 5
    customer_id = org.http.get("/v1/customers/external/frank").json()["id"]
    aggregates = usage.customer_aggregates(org.id, customer_id)
    closed_period = aggregates[0].period_key
    assert closed_period < iso(datetime(now.year, now.month, 1, tzinfo=UTC))
    for aggregate in aggregates:  # what the cycle close does
        usage.mark_closed(org.id, aggregate)
    late = [{**e, "timestamp": iso(last_month)} for e in batch("frank", 5, 5, prefix="old")]
    for _ in range(2):  # sent twice: still counted once
        org.http.post("/v1/events/ingest", json={"events": late})
    # The open period holds the 5 late events only; the closed one still holds its 5.
    assert Decimal(str(meter_value(org.http, "frank", api_calls_meters["count"]))) == 5
    after = {(a.meter_id, a.period_key): a for a in usage.customer_aggregates(org.id, customer_id)}
    assert after[(api_calls_meters["count"], closed_period)].state.count == 5
    open_count = [a for (m, p), a in after.items() if m == api_calls_meters["count"] and p > closed_period]
    assert len(open_count) == 1 and open_count[0].state.count == 5 and open_count[0].late_count == 5
    listed = org.http.get("/v1/events/", params={"external_customer_id": "frank", "limit": 100}).json()["items"]
    assert sum(1 for e in listed if e["late"]) == 5
    audit_is_clean(org.id, tmp_path)


def test_unknown_external_customer_is_created_and_event_kept(org) -> None:
    response = org.http.post("/v1/events/ingest", json={"events": [
        {"name": "signup", "external_customer_id": "new-one", "external_id": "x1"}]})
    assert response.json() == {"inserted": 1, "duplicates": 0}
    customer = org.http.get("/v1/customers/external/new-one").json()
    events = org.http.get("/v1/events/", params={"customer_id": customer["id"]}).json()
    assert [e["name"] for e in events["items"]] == ["signup"]
    event_id = events["items"][0]["id"]
    assert org.http.get(f"/v1/events/{event_id}").json()["external_id"] == "x1"


def test_metadata_reads_back_as_sent_and_meters_count_it(org) -> None:
    """Stored as its JSON text (docs/data-model.md): every JSON type, nested structured keys, non-ASCII text and
    floats written by their shortest form come back equal, and a meter sums them exactly."""
    meter_id = create_meter(org, "float sum", {"func": "sum", "property": "f"})
    metadata = {"f": 1234.000000000001, "tiny": 1e-12, "big": 10**16 - 1, "neg": -2.5, "yes": True,
                "text": "héllo \"x\"", "_llm": {"model": "m", "cost": None, "tokens": 12}}
    sent = [{"name": "md", "external_customer_id": "md-reader", "external_id": f"md{i}", "metadata": metadata}
            for i in range(2)]
    assert org.http.post("/v1/events/ingest", json={"events": sent}).json()["inserted"] == 2
    listed = org.http.get("/v1/events/", params={"external_customer_id": "md-reader"}).json()["items"]
    assert [e["metadata"] for e in listed] == [metadata, metadata]
    assert org.http.get(f"/v1/events/{listed[0]['id']}").json()["metadata"] == metadata
    assert Decimal(str(meter_value(org.http, "md-reader", meter_id))) == Decimal("2468.000000000002")


@pytest.mark.parametrize(
    ("event", "loc", "fragment"),
    [
        ({"name": "", "external_customer_id": "c"}, ["body", "events", 1, "name"], "at least 1"),
        ({"name": "x" * 129, "external_customer_id": "c"}, ["body", "events", 1, "name"], "at most 128"),
        ({"name": "a"}, ["body", "events", 1, "external_customer_id"], "exactly one"),
        ({"name": "a", "customer_id": "c1", "external_customer_id": "c"}, ["body", "events", 1,
                                                                            "external_customer_id"], "exactly one"),
        ({"name": "a", "external_customer_id": "c", "timestamp": "2026-01-01T00:00:00"},
         ["body", "events", 1, "timestamp"], None),
        ({"name": "a", "external_customer_id": "c", "timestamp": iso(datetime.now(UTC) - timedelta(days=36))},
         ["body", "events", 1, "timestamp"], "35 days"),
        ({"name": "a", "external_customer_id": "c", "timestamp": iso(datetime.now(UTC) + timedelta(hours=1))},
         ["body", "events", 1, "timestamp"], "5 minutes"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"k" * 41: 1}}, ["body", "events", 1, "metadata"],
         "1 to 40"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"k": "v" * 501}},
         ["body", "events", 1, "metadata"], "500"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"k": [1]}}, ["body", "events", 1, "metadata"],
         "string, number or boolean"),
        ({"name": "a", "external_customer_id": "c", "metadata": {f"k{i}": i for i in range(51)}},
         ["body", "events", 1, "metadata"], "50 keys"),
        ({"name": "a", "customer_id": "no-such-customer"}, ["body", "events", 1, "customer_id"], "not found"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"big": 1e300}}, ["body", "events", 1, "metadata"],
         "below 10^16"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"big": 10**40}}, ["body", "events", 1, "metadata"],
         "'big'"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"v": 1e99}}, ["body", "events", 1, "metadata"],
         "'v' must be a finite number below 10^16"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"tiny": 1e-99}}, ["body", "events", 1, "metadata"],
         "12 decimal places"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"f": 0.1 + 0.2}}, ["body", "events", 1, "metadata"],
         "12 decimal places"),
        ({"name": "a", "external_customer_id": "c", "metadata": {"_cost": {"amount": 1e20}}},
         ["body", "events", 1, "metadata"], "'_cost.amount'"),
        # A field the event does not have is named, never dropped (a misspelt metadata would count nothing).
        ({"name": "a", "external_customer_id": "c", "metdata": {"tokens": 5}}, ["body", "events", 1, "metdata"],
         "Extra inputs"),
        ({"name": "a", "external_customer_id": "c", "parent_id": "e-1"}, ["body", "events", 1, "parent_id"], "None"),
        ({"name": "a", "external_customer_id": "c", "member_id": "m-1"}, ["body", "events", 1, "member_id"], "None"),
    ],
)
def test_bad_input_is_422_with_the_field_and_writes_nothing(org, event, loc, fragment) -> None:
    good = {"name": "fine", "external_customer_id": "never-written", "external_id": "g1"}
    response = org.http.post("/v1/events/ingest", json={"events": [good, event]})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [loc]
    if fragment:
        assert fragment in detail[0]["msg"]
    assert org.http.get("/v1/customers/external/never-written").status_code == 404


def test_a_period_closed_between_the_read_and_the_write_sends_the_events_to_the_next_one(org) -> None:
    """The close commits after ingest read the aggregate open: the store refuses the chunk as PeriodClosed and
    ingest writes it again in the following period, marked late; nothing lands in the closed one."""
    from functions.events import service as ingest_service
    from functions.events.schemas import checked_event

    meter_id = create_meter(org, "raced", {"func": "count"})
    sent = {"name": "api_call", "external_customer_id": "racer", "timestamp": iso(datetime.now(UTC))}
    assert org.http.post("/v1/events/ingest", json={"events": [sent]}).json()["inserted"] == 1
    customer_id = org.http.get("/v1/customers/external/racer").json()["id"]

    class CloseAfterTheFirstRead(ingest_service.DynamoUsage):
        def __init__(self) -> None:
            self.closed: list = []

        def read_aggregates(self, org_id, keys, shard=0):
            found = usage.read_aggregates(org_id, keys, shard)
            for key, aggregate in usage.read_merged(org_id, keys).items():
                if not self.closed:  # what the cycle close does, once (every shard)
                    usage.mark_closed(org_id, aggregate)
                    self.closed.append(key)
            return found  # as read: open

    racing = CloseAfterTheFirstRead()
    result = ingest_service.ingest(org.id, [checked_event(sent)], usage=racing)
    assert result.inserted == 1 and len(racing.closed) == 1
    after = {a.period_key: a for a in usage.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id}
    closed_period = racing.closed[0][2]
    assert after[closed_period].closed and after[closed_period].state.count == 1
    [following] = [a for p, a in after.items() if p > closed_period]
    assert (following.state.count, following.late_count, following.closed) == (1, 1, False)
    # The customer meter counts the month usage counts in now: none while the closed one lasts (nobody closes a
    # calendar month but this test), the late event once the following month has begun.
    from functions.customer_meters.service import customer_meters
    from functions.store import customers, meters

    customer, all_meters = customers.get(org.id, customer_id), {m.id: m for m in meters.list_all(org.id)}
    assert meter_value(org.http, "racer", meter_id) == 0
    [row] = customer_meters(org.id, customer, all_meters, now=datetime.fromisoformat(following.period_key))
    assert (row.meter.id, row.consumed) == (meter_id, 1)
    listed = org.http.get("/v1/events/", params={"external_customer_id": "racer", "limit": 10}).json()["items"]
    assert sorted(e["late"] for e in listed) == [False, True]


@pytest.mark.parametrize(("theirs", "transactions", "maximum"), [
    (7, 1, 9),  # moved, but not past ours: our transaction stands on its own condition and commits
    (12, 2, 12),  # moved past ours: ours is cancelled, re-read, and written without touching the max
])
def test_a_max_another_writer_moved_after_our_read_cancels_only_if_it_moved_past_ours(
        org, theirs, transactions, maximum) -> None:
    from functions.events import service as ingest_service
    from functions.events.schemas import checked_event

    meter_ids = {f: create_meter(org, f"raced {f}", {"func": f, "property": "v"}) for f in ("max", "sum")}
    customer = f"max-racer-{theirs}"
    assert org.http.post("/v1/events/ingest", json={"events": [
        {"name": "a", "external_customer_id": customer, "metadata": {"v": 5}}]}).json()["inserted"] == 1

    class AnotherWriterAfterOurRead(ingest_service.DynamoUsage):
        def __init__(self) -> None:
            self.transactions = 0

        def read_aggregates(self, org_id, keys, shard=0):
            found = usage.read_aggregates(org_id, keys, shard)
            if not self.transactions:  # once: the other writer commits between our read and our write, on
                # the same shard item (this process's, as it is ours: functions/events/service.py WRITER_SHARD)
                assert ingest_service.ingest(org_id, [checked_event(
                    {"name": "a", "external_customer_id": customer, "metadata": {"v": theirs}})]).inserted == 1
            return found

        def write_chunk(self, org_id, records, deltas, buckets, puts=None):
            self.transactions += 1
            return usage.write_chunk(org_id, records, deltas, buckets, puts)

    racing = AnotherWriterAfterOurRead()
    result = ingest_service.ingest(org.id, [checked_event(
        {"name": "a", "external_customer_id": customer, "metadata": {"v": 9}})], usage=racing)
    assert (result.inserted, racing.transactions) == (1, transactions)
    assert meter_value(org.http, customer, meter_ids["max"]) == maximum
    assert meter_value(org.http, customer, meter_ids["sum"]) == 5 + theirs + 9  # each event counted once


def test_more_than_1000_events_is_422(org) -> None:
    events = [{"name": "a", "external_customer_id": "c"}] * 1001
    response = org.http.post("/v1/events/ingest", json={"events": events})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


def test_a_huge_number_is_refused_and_cannot_poison_a_meter(org) -> None:
    meter_id = create_meter(org, "v", {"func": "sum", "property": "v"})
    refused = org.http.post("/v1/events/ingest", json={"events": [
        {"name": "a", "external_customer_id": "poison", "metadata": {"v": 1e99}},
        {"name": "a", "external_customer_id": "poison", "metadata": {"v": 1e-99}}]})
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.json()["detail"]] == [["body", "events", i, "metadata"] for i in (0, 1)]
    for value in (1, 2):
        response = org.http.post("/v1/events/ingest", json={"events": [
            {"name": "a", "external_customer_id": "poison", "metadata": {"v": value}}]})
        assert response.status_code == 200, response.text
    assert meter_value(org.http, "poison", meter_id) == 3


def test_sums_near_the_limits_stay_exact(org, tmp_path) -> None:
    meter_id = create_meter(org, "v", {"func": "sum", "property": "v"})
    biggest, smallest = 9_999_999_999_999_999, 0.000000000001
    values = [biggest, biggest, smallest, -biggest, biggest, smallest]
    for round_ in range(2):
        response = org.http.post("/v1/events/ingest", json={"events": [
            {"name": "a", "external_customer_id": "edges", "external_id": f"{round_}-{i}", "metadata": {"v": v}}
            for i, v in enumerate(values)]})
        assert response.json() == {"inserted": 6, "duplicates": 0}
    customer_id = org.http.get("/v1/customers/external/edges").json()["id"]
    [aggregate] = [a for a in usage.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id]
    # Python's default context (28 digits) would have dropped the 10^-12 parts of these 29-digit sums.
    assert aggregate.state.total == Decimal("39999999999999996.000000000004")
    audit_is_clean(org.id, tmp_path)


def _every_shard_sum(org_id: str, key: tuple[str, str, str], total: Decimal) -> None:
    from functions.store import dynamo
    from functions.store.attributes import AGGREGATE_SUM
    from functions.store.keys import AGGREGATE_SHARDS, aggregate_key

    written = [item for k in range(AGGREGATE_SHARDS)
               for item in dynamo.batch_get([aggregate_key(org_id, key, k)])]
    for k in range(AGGREGATE_SHARDS):
        shard_key = aggregate_key(org_id, key, k)
        item = next((i for i in written if i["SK"] == shard_key["SK"]), {**written[0], **shard_key})
        dynamo.call("put_item", TableName=dynamo.table_name(), Item={**item, AGGREGATE_SUM: {"N": str(total)}})


def test_a_sum_dynamodb_cannot_hold_is_refused_never_read_as_contention(org) -> None:
    meter_id = create_meter(org, "v", {"func": "sum", "property": "v"})
    assert org.http.post("/v1/events/ingest", json={"events": [
        {"name": "a", "external_customer_id": "full", "metadata": {"v": 1}}]}).status_code == 200
    customer_id = org.http.get("/v1/customers/external/full").json()["id"]
    [aggregate] = [a for a in usage.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id]
    # A sum at 38 digits (10^10 maximal values would get there): adding a half cannot be stored exactly. Put on
    # every shard item: the event went to the shard its execution environment writes (an earlier test may have
    # moved it off shard 0), and the next one may be served by another environment.
    _every_shard_sum(org.id, aggregate.key, Decimal(10**37 + 1))
    response = org.http.post("/v1/events/ingest", json={"events": [
        {"name": "a", "external_customer_id": "full", "metadata": {"v": 0.5}}]})
    assert response.status_code == 422, response.text
    assert "cannot stay exact" in response.json()["detail"][0]["msg"]
    # The store itself, asked to ADD past 38 digits, refuses: a fault, never contention.
    from functions.common.errors import StoreRefused
    from functions.meters.aggregation import Partial

    delta = usage.AggregateDelta(key=(customer_id, meter_id, aggregate.period_key), period_end=aggregate.period_end,
                                 partial=Partial(count=1, total=Decimal("0.5")), prior=aggregate)
    with pytest.raises(StoreRefused):
        usage.write_chunk(org.id, [], [delta], [])
    # Other customers and meters are untouched: a count still moves.
    assert org.http.post("/v1/events/ingest", json={"events": [
        {"name": "a", "external_customer_id": "other", "metadata": {"v": 1}}]}).status_code == 200


def test_real_contention_is_a_409_with_retry_after(org, local_aws, edge_hooks) -> None:
    meter_id = create_meter(org, "v", {"func": "sum", "property": "v"})
    assert org.http.post("/v1/events/ingest", json={"events": [
        {"name": "a", "external_customer_id": "busy", "metadata": {"v": 1}}]}).status_code == 200
    customer_id = org.http.get("/v1/customers/external/busy").json()["id"]
    [aggregate] = [a for a in usage.customer_aggregates(org.id, customer_id) if a.meter_id == meter_id]
    # Another writer's transaction on the customer's aggregate, every shard of it, stays in flight for the whole
    # request: every attempt of the ingest, on whichever shard it moves to, is cancelled by DynamoDB's conflict
    # rule.
    in_flight, release = threading.Event(), threading.Event()

    def hold_the_other_writer(when: str, principal: str, service_name: str, operation: str):
        if when == "in_flight" and principal == "admin":
            in_flight.set()
            release.wait(60)

    edge_hooks.append(hold_the_other_writer)
    table = local_aws.table_name
    from functions.store.keys import AGGREGATE_SHARDS, aggregate_pk, aggregate_sk
    from functions.store.keys import key as item_key

    keys = [item_key(aggregate_pk(org.id, customer_id), aggregate_sk(meter_id, aggregate.period_key, shard))
            for shard in range(AGGREGATE_SHARDS)]
    other = threading.Thread(target=local_aws.client("dynamodb").transact_write_items, kwargs={"TransactItems": [
        {"Update": {"TableName": table, "Key": key, "UpdateExpression": "SET touched = :t",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}}}} for key in keys]})
    other.start()
    try:
        assert in_flight.wait(30)
        response = org.http.post("/v1/events/ingest", json={"events": [
            {"name": "a", "external_customer_id": "busy", "metadata": {"v": 1}}]})
    finally:
        release.set()
        other.join()
    assert response.status_code == 409, response.text
    assert response.headers["retry-after"] == "1"
    assert meter_value(org.http, "busy", meter_id) == 1  # nothing of the refused request was written


def test_external_id_deduplicates_per_organization_whatever_the_customer(org, other_org, api_calls_meters,
                                                                         tmp_path) -> None:
    event = {"name": "api_call", "external_id": "shared-1", "metadata": {"ms": 5}}
    first = org.http.post("/v1/events/ingest", json={"events": [{**event, "external_customer_id": "cust-a"}]})
    assert first.json() == {"inserted": 1, "duplicates": 0}
    # The same external_id for another customer is the same event: a duplicate, counted nowhere else.
    second = org.http.post("/v1/events/ingest", json={"events": [{**event, "external_customer_id": "cust-b"}]})
    assert second.json() == {"inserted": 0, "duplicates": 1}
    assert meter_value(org.http, "cust-a", api_calls_meters["count"]) == 1
    assert meter_value(org.http, "cust-b", api_calls_meters["count"]) == 0
    # Another organization's external ids are its own.
    third = other_org.http.post("/v1/events/ingest", json={"events": [{**event, "external_customer_id": "cust-b"}]})
    assert third.json() == {"inserted": 1, "duplicates": 0}
    # The event is one read by id, with or without its customer; under another customer it is not found.
    listed = org.http.get("/v1/events/", params={"external_customer_id": "cust-a"}).json()["items"]
    assert [e["external_id"] for e in listed] == ["shared-1"]
    event_id = listed[0]["id"]
    assert org.http.get(f"/v1/events/{event_id}").json()["customer_id"] == listed[0]["customer_id"]
    assert org.http.get(f"/v1/events/{event_id}", params={"customer_id": listed[0]["customer_id"]}).status_code == 200
    cust_b = org.http.get("/v1/customers/external/cust-b").json()["id"]
    assert org.http.get(f"/v1/events/{event_id}", params={"customer_id": cust_b}).status_code == 404
    assert other_org.http.get(f"/v1/events/{event_id}").status_code == 404
    assert org.http.get("/v1/events/", params={"external_customer_id": "cust-b"}).json()["items"] == []
    audit_is_clean(org.id, tmp_path)
