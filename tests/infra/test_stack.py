"""The synthesized template: every resource and permission the design names."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from aws_cdk.assertions import Match

from functions.handlers.routes import ROUTES


def resources(raw: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == kind}


def test_table_is_on_demand_with_pitr_ttl_and_index(template) -> None:
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "GSI1"})],
        },
    )


def test_buckets_are_private_encrypted_and_tls_only(synthesized) -> None:
    raw, _ = synthesized
    buckets = resources(raw, "AWS::S3::Bucket")
    assert len(buckets) == 3  # batch, invoices, and their access logs
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    policies = resources(raw, "AWS::S3::BucketPolicy").values()
    tls_denied = [
        p for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(tls_denied) == 3


def test_every_route_is_wired_to_its_lambda(synthesized) -> None:
    raw, _ = synthesized
    keys = {r["Properties"]["RouteKey"] for r in resources(raw, "AWS::ApiGatewayV2::Route").values()}
    assert keys == {f"{r.method} {r.path}" for r in ROUTES}
    handlers = {f["Properties"]["Handler"] for f in resources(raw, "AWS::Lambda::Function").values()}
    assert {
        "functions.handlers.ingest.handler",
        "functions.handlers.management.handler",
        "functions.handlers.portal.handler",
        "functions.handlers.bulk_ingest.handler",
        "functions.handlers.cycle_close.handler",
    } <= handlers


def test_bulk_ingest_has_s3_trigger_and_on_failure_destination(template) -> None:
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {"NotificationConfiguration": {"LambdaFunctionConfigurations": [
            Match.object_like({"Events": ["s3:ObjectCreated:*"]})
        ]}},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}, "MaximumRetryAttempts": 2},
    )


def test_cycle_close_is_scheduled_with_retries_and_dlq(template) -> None:
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(15 minutes)",
            "Targets": [Match.object_like({
                "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 3}),
                "DeadLetterConfig": {"Arn": Match.any_value()},
            })],
        },
    )


def test_alarms_cover_errors_throttles_and_dlqs(synthesized) -> None:
    raw, _ = synthesized
    alarms = resources(raw, "AWS::CloudWatch::Alarm").values()
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms)
    assert metrics.count("Errors") == 5 and metrics.count("Throttles") == 5
    assert metrics.count("ApproximateNumberOfMessagesVisible") == 2


def _statements(raw: dict) -> list[tuple[str, dict]]:
    out = []
    for name, policy in resources(raw, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            out.append((name, statement))
    return out


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_no_policy_grants_star_actions_or_star_on_the_table(synthesized) -> None:
    raw, _ = synthesized
    for name, statement in _statements(raw):
        actions = _as_list(statement["Action"])
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), (name, actions)
        if any(a.startswith("dynamodb:") for a in actions):
            assert "*" not in _as_list(statement["Resource"]), (name, statement)


def test_each_lambda_has_its_own_role_with_only_its_table_actions(synthesized) -> None:
    raw, _ = synthesized
    functions = resources(raw, "AWS::Lambda::Function")
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(roles) == len(set(roles))

    def table_actions(role_prefix: str) -> set[str]:
        actions: set[str] = set()
        for name, statement in _statements(raw):
            if name.startswith(role_prefix):
                actions |= {a for a in _as_list(statement["Action"]) if a.startswith("dynamodb:")}
        return actions

    portal = table_actions("ApiPortalFunctionServiceRole")
    assert portal and not portal & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    ingest = table_actions("ApiIngestFunctionServiceRole")
    assert "dynamodb:UpdateItem" in ingest and "dynamodb:DeleteItem" not in ingest
    assert "dynamodb:Scan" not in ingest | portal | table_actions("ApiManagementFunctionServiceRole")


def test_cfn_lint_finds_no_errors(synthesized) -> None:
    _, out = synthesized
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", str(out / "Meterbill.template.json")], capture_output=True, text=True
    )
    # cfn-lint's exit status is a bit mask: 2 = errors (4 = warnings, 8 = informational).
    assert result.returncode & 2 == 0, result.stdout


def test_cdk_nag_findings_are_fixed_or_justified(synthesized) -> None:
    _, out = synthesized
    report = Path(out) / "AwsSolutions--Meterbill-NagReport.csv"
    rows = list(csv.DictReader(report.open()))
    assert rows, "cdk-nag produced no report"
    open_findings = [r for r in rows if r["Compliance"] == "Non-Compliant"]
    assert open_findings == []
    suppressed = {r["Rule ID"] for r in rows if r["Compliance"] == "Suppressed"}
    assert suppressed <= {"AwsSolutions-APIG4", "AwsSolutions-IAM4", "AwsSolutions-IAM5", "AwsSolutions-L1",
                          "AwsSolutions-SQS3"}
