"""IAM as the local stack evaluates it: what a request needs, and whether a role's statements allow it."""

from __future__ import annotations

from local_stack import iam
from local_stack.template import ACCOUNT, Statement

TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"


def test_each_action_of_a_transaction_is_checked_on_its_own() -> None:
    needs = iam.dynamodb_needs("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t", "Item": {}}}, {"Update": {"TableName": "t", "Key": {}}},
        {"ConditionCheck": {"TableName": "t", "Key": {}}}]})
    assert [n.action for n in needs] == ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    only_put = [Statement("Allow", ["dynamodb:PutItem"], [TABLE])]
    assert iam.allowed(only_put, needs[0]) and not iam.allowed(only_put, needs[1])


def test_batch_write_needs_its_own_grant_and_an_index_needs_the_index_resource() -> None:
    writes = [Statement("Allow", ["dynamodb:PutItem", "dynamodb:Query"], [TABLE])]
    (batch,) = iam.dynamodb_needs("BatchWriteItem", {"RequestItems": {"t": []}})
    assert batch == iam.Need("dynamodb:BatchWriteItem", TABLE) and not iam.allowed(writes, batch)
    (query,) = iam.dynamodb_needs("Query", {"TableName": "t", "IndexName": "GSI1"})
    assert query.resource == f"{TABLE}/index/GSI1" and not iam.allowed(writes, query)
    assert iam.allowed([Statement("Allow", ["dynamodb:Query"], [f"{TABLE}/index/*"])], query)


def test_wildcards_and_an_explicit_deny() -> None:
    statements = [Statement("Allow", ["s3:GetObject*"], ["arn:aws:s3:::b/*"]),
                  Statement("Deny", ["s3:*"], ["arn:aws:s3:::b/secret/*"])]
    assert iam.allowed(statements, iam.Need("s3:GetObjectVersion", "arn:aws:s3:::b/x"))
    assert iam.allowed(statements, iam.Need("S3:getobject", "arn:aws:s3:::b/x"))  # actions ignore case
    assert not iam.allowed(statements, iam.Need("s3:GetObject", "arn:aws:s3:::B/x"))  # resources do not
    assert not iam.allowed(statements, iam.Need("s3:GetObject", "arn:aws:s3:::b/secret/x"))
    assert not iam.allowed(statements, iam.Need("s3:PutObject", "arn:aws:s3:::b/x"))
    assert not iam.allowed([], iam.Need("s3:GetObject", "arn:aws:s3:::b/x"))  # nothing allowed: denied


def test_s3_requests_map_to_the_actions_iam_checks() -> None:
    assert iam.s3_needs("GET", "/b/k", "versionId=v1", {}) == [iam.Need("s3:GetObjectVersion", "arn:aws:s3:::b/k")]
    assert iam.s3_needs("HEAD", "/b/a%20b", "", {}) == [iam.Need("s3:GetObject", "arn:aws:s3:::b/a b")]
    assert iam.s3_needs("GET", "/b", "versions&prefix=x", {}) == [iam.Need("s3:ListBucketVersions", "arn:aws:s3:::b")]
    assert iam.s3_needs("GET", "/b", "list-type=2", {}) == [iam.Need("s3:ListBucket", "arn:aws:s3:::b")]
    assert iam.s3_needs("PUT", "/b/k", "partNumber=1&uploadId=u", {})[0].action == "s3:PutObject"
    copy = iam.s3_needs("PUT", "/b/k", "", {"x-amz-copy-source": "/src/o"})
    assert copy == [iam.Need("s3:PutObject", "arn:aws:s3:::b/k"), iam.Need("s3:GetObject", "arn:aws:s3:::src/o")]


def test_events_lambda_and_sqs_resources() -> None:
    assert iam.events_needs("PutEvents", {"Entries": [{"EventBusName": "bus"}]}) == [
        iam.Need("events:PutEvents", f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/bus")]
    assert iam.lambda_needs("POST", "/2015-03-31/functions/f/invocations") == [
        iam.Need("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f")]
    assert iam.sqs_needs("SendMessage", {"QueueUrl": f"http://x/{ACCOUNT}/q"}) == [
        iam.Need("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")]
