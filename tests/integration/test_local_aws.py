"""The local stack is never more forgiving than AWS: IAM from the template, DynamoDB's transaction conflicts,
and Lambda's invocation model (one request per environment, timeouts, async retries, destinations)."""

from __future__ import annotations

import threading
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.edge import role_access_key
from local_stack.template import REGION


def as_role(local_stack, handler_module: str, service: str):
    """A client with the credentials the function's execution environment gets."""
    role = local_stack.stack.functions[local_stack.function_name(handler_module)].role
    session = boto3.session.Session(aws_access_key_id=role_access_key(role), aws_secret_access_key="local",
                                    aws_session_token="local", region_name=REGION)
    return session.client(service, endpoint_url=local_stack.aws.endpoint)


def test_a_call_the_role_is_not_granted_is_refused_as_aws_refuses_it(local_stack) -> None:
    table, bucket = local_stack.aws.table_name, local_stack.aws.invoice_bucket
    portal = as_role(local_stack, "portal", "dynamodb")
    portal.get_item(TableName=table, Key={"PK": {"S": "nothing"}, "SK": {"S": "here"}})  # granted: answered
    with pytest.raises(ClientError) as refused:
        portal.delete_item(TableName=table, Key={"PK": {"S": "x"}, "SK": {"S": "y"}})  # not granted
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:DeleteItem" in refused.value.response["Error"]["Message"]
    ingest_s3 = as_role(local_stack, "ingest", "s3")
    with pytest.raises(ClientError) as denied:
        ingest_s3.put_object(Bucket=bucket, Key="nope", Body=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert local_stack.aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="nope").get("KeyCount") == 0


def test_unknown_credentials_are_refused(local_stack) -> None:
    stranger = boto3.client("dynamodb", endpoint_url=local_stack.aws.endpoint, region_name=REGION,
                            aws_access_key_id="AKIASTRANGER", aws_secret_access_key="x")
    with pytest.raises(ClientError) as refused:
        stranger.list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


def _counter_update(table: str, item: str) -> dict:
    return {"Update": {"TableName": table, "Key": {"PK": {"S": item}, "SK": {"S": "c"}},
                       "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def test_transactions_on_one_item_conflict_as_in_dynamodb(local_stack) -> None:
    dynamodb, table = local_stack.aws.client("dynamodb"), local_stack.aws.table_name
    item = f"conflict-{time.time_ns()}"
    committed, cancelled = [], []

    def writer() -> None:
        for _ in range(40):
            try:
                dynamodb.transact_write_items(TransactItems=[_counter_update(table, item)])
                committed.append(1)
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons", [])
                assert [r["Code"] for r in reasons] == ["TransactionConflict"], exc.response
                cancelled.append(1)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cancelled, "8 concurrent writers of one item never conflicted"
    stored = dynamodb.get_item(TableName=table, Key={"PK": {"S": item}, "SK": {"S": "c"}}, ConsistentRead=True)
    assert int(stored["Item"]["n"]["N"]) == len(committed) == 320 - len(cancelled)


def test_a_single_write_to_an_item_in_flight_in_a_transaction_fails(local_stack, edge_hooks) -> None:
    dynamodb, table = local_stack.aws.client("dynamodb"), local_stack.aws.table_name
    item = f"in-flight-{time.time_ns()}"
    in_flight, release = threading.Event(), threading.Event()

    def hold(when: str, principal: str, service: str, operation: str):
        if when == "in_flight":
            in_flight.set()
            release.wait(10)

    edge_hooks.append(hold)
    transaction = threading.Thread(target=dynamodb.transact_write_items,
                                   kwargs={"TransactItems": [_counter_update(table, item)]})
    transaction.start()
    assert in_flight.wait(10)
    edge_hooks.clear()
    try:
        with pytest.raises(ClientError) as refused:
            dynamodb.put_item(TableName=table, Item={"PK": {"S": item}, "SK": {"S": "c"}})
        assert refused.value.response["Error"]["Code"] == "TransactionConflictException"
        with pytest.raises(ClientError) as cancelled:
            dynamodb.transact_write_items(TransactItems=[_counter_update(table, "elsewhere"),
                                                         _counter_update(table, item)])
        assert [r["Code"] for r in cancelled.value.response["CancellationReasons"]] == ["None",
                                                                                      "TransactionConflict"]
    finally:
        release.set()
        transaction.join()
    dynamodb.put_item(TableName=table, Item={"PK": {"S": item}, "SK": {"S": "c"}})  # free again afterwards


def test_one_invocation_at_a_time_per_environment_and_more_environments_for_concurrency(org, local_stack) -> None:
    pool = local_stack.runtime.pools[local_stack.function_name("management")]
    results = []

    def call() -> None:
        results.append(org.http.get(f"/v1/organizations/{org.id}").status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4
    assert pool.active >= 2  # concurrent requests met separate environments
    assert pool.active <= pool.limit


def test_a_timeout_kills_the_environment_and_the_gateway_answers_503(org, local_stack) -> None:
    spec = local_stack.runtime.pools[local_stack.function_name("management")].spec
    before, spec.timeout = spec.timeout, 0
    try:
        assert org.http.get(f"/v1/organizations/{org.id}").status_code == 503
    finally:
        spec.timeout = before
    assert org.http.get(f"/v1/organizations/{org.id}").status_code == 200


def test_reserved_concurrency_throttles_a_second_synchronous_invocation(local_stack, edge_hooks) -> None:
    from local_stack.runtime import Throttled
    from local_stack.stack import scheduled_event

    close = local_stack.function_name("cycle_close")
    assert local_stack.stack.functions[close].reserved_concurrency == 1
    role = local_stack.stack.functions[close].role
    running, release = threading.Event(), threading.Event()

    def hold_the_first_run(when: str, principal: str, service: str, operation: str):
        if when == "before" and principal == role:
            running.set()
            release.wait(30)

    edge_hooks.append(hold_the_first_run)
    first = threading.Thread(target=local_stack.invoke, args=("cycle_close", scheduled_event("first")))
    first.start()
    try:
        assert running.wait(60)
        with pytest.raises(Throttled):
            local_stack.invoke("cycle_close", scheduled_event("second"))
    finally:
        release.set()
        first.join()


def test_the_store_retries_a_single_write_refused_while_a_transaction_holds_the_item(local_stack, edge_hooks) -> None:
    """DynamoDB refuses a single write to an item a transaction is writing (TransactionConflictException) and
    botocore does not retry it: two overlapping close runs met it when one published an invoice the other was
    trying to write. The store waits the transaction out."""
    from functions.store import dynamo

    dynamodb, table = local_stack.aws.client("dynamodb"), local_stack.aws.table_name
    item = f"held-{time.time_ns()}"
    in_flight, release = threading.Event(), threading.Event()
    refused: list[str] = []

    def hold(when: str, principal: str, service: str, operation: str):
        if when == "in_flight" and operation == "TransactWriteItems":
            in_flight.set()
            release.wait(10)
        if when == "after" and principal == "admin" and operation == "UpdateItem" and not release.is_set():
            refused.append(operation)
            if len(refused) == 2:  # the transaction finishes while the store is backing off
                release.set()

    edge_hooks.append(hold)
    transaction = threading.Thread(target=dynamodb.transact_write_items,
                                   kwargs={"TransactItems": [_counter_update(table, item)]})
    transaction.start()
    assert in_flight.wait(10)
    try:
        dynamo.call("update_item", TableName=table, Key={"PK": {"S": item}, "SK": {"S": "c"}},
                    UpdateExpression="SET marked = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
    finally:
        release.set()
        transaction.join()
    assert len(refused) == 2  # refused twice, then written
    stored = dynamodb.get_item(TableName=table, Key={"PK": {"S": item}, "SK": {"S": "c"}}, ConsistentRead=True)
    assert stored["Item"]["marked"] == {"BOOL": True} and stored["Item"]["n"] == {"N": "1"}


def test_a_table_kept_from_before_an_index_existed_gets_it_with_its_items(local_stack) -> None:
    """A state dir from an earlier version has the table without GSI2: the stack adds the index, as a
    CloudFormation update would, and the events already stored are found through it."""
    from local_stack.aws import add_missing_indexes, create_table_request

    dynamodb = local_stack.aws.client("dynamodb")
    [props] = local_stack.aws.stack.tables.values()
    request = create_table_request(f"legacy-{uuid.uuid4().hex[:8]}", props)
    earlier = {**request, "GlobalSecondaryIndexes": [i for i in request["GlobalSecondaryIndexes"]
                                                     if i["IndexName"] == "GSI1"]}
    earlier["AttributeDefinitions"] = [a for a in request["AttributeDefinitions"]
                                       if a["AttributeName"] not in ("l", "ts")]
    dynamodb.create_table(**earlier)
    item = {"PK": {"S": "EVENT#o#01"}, "SK": {"S": "e1"}, "l": {"S": "c1#3"}, "ts": {"S": "2026-11-03T12:00:00Z"}}
    dynamodb.put_item(TableName=request["TableName"], Item=item)
    add_missing_indexes(dynamodb, request)
    add_missing_indexes(dynamodb, request)  # a second start finds it there
    indexes = dynamodb.describe_table(TableName=request["TableName"])["Table"]["GlobalSecondaryIndexes"]
    assert sorted((i["IndexName"], i["IndexStatus"]) for i in indexes) == [("GSI1", "ACTIVE"), ("GSI2", "ACTIVE")]
    found = dynamodb.query(TableName=request["TableName"], IndexName="GSI2", KeyConditionExpression="l = :l",
                           ExpressionAttributeValues={":l": {"S": "c1#3"}})["Items"]
    assert [i["SK"]["S"] for i in found] == ["e1"]
    dynamodb.delete_table(TableName=request["TableName"])
