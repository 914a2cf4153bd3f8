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
            "GlobalSecondaryIndexes": [
                Match.object_like({"IndexName": "GSI1"}),
                Match.object_like({"IndexName": "GSI2", "KeySchema": [{"AttributeName": "l", "KeyType": "HASH"},
                                                                      {"AttributeName": "ts", "KeyType": "RANGE"}],
                                   "Projection": {"ProjectionType": "ALL"}}),
            ],
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


def test_cycle_close_failures_reach_a_queue_and_runs_one_at_a_time(synthesized) -> None:
    raw, _ = synthesized
    functions = resources(raw, "AWS::Lambda::Function")
    (close_id,) = [k for k, f in functions.items()
                   if f["Properties"]["Handler"] == "functions.handlers.cycle_close.handler"]
    assert functions[close_id]["Properties"]["ReservedConcurrentExecutions"] == 1
    (config,) = [c["Properties"] for c in resources(raw, "AWS::Lambda::EventInvokeConfig").values()
                 if c["Properties"]["FunctionName"] == {"Ref": close_id}]
    assert config["MaximumRetryAttempts"] == 2 and config["MaximumEventAgeInSeconds"] == 3600
    failures = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert raw["Resources"][failures]["Type"] == "AWS::SQS::Queue"
    # A queue of its own, not the schedule's dead-letter queue (which still catches delivery failures).
    (rule,) = [r for r in resources(raw, "AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]]
    assert rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] != failures
    depth_alarms = [a["Properties"] for a in resources(raw, "AWS::CloudWatch::Alarm").values()
                    if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert {"Fn::GetAtt": [failures, "QueueName"]} in [a["Dimensions"][0]["Value"] for a in depth_alarms]


def test_alarms_cover_errors_throttles_api_5xx_and_every_queue(synthesized) -> None:
    raw, _ = synthesized
    alarms = resources(raw, "AWS::CloudWatch::Alarm").values()
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms)
    handlers = [f for f in resources(raw, "AWS::Lambda::Function").values()
                if f["Properties"]["Handler"].startswith("functions.handlers.")]
    assert metrics.count("Errors") == len(handlers) == 8 and metrics.count("Throttles") == 8
    # Every failure queue: each queue but the one a Lambda reads (webhook deliveries, whose messages wait there
    # between retries by design; its dead-letter queue is watched).
    read = {m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
            for m in resources(raw, "AWS::Lambda::EventSourceMapping").values()}
    failure_queues = set(resources(raw, "AWS::SQS::Queue")) - read
    assert metrics.count("ApproximateNumberOfMessagesVisible") == len(failure_queues) == 6
    (api_5xx,) = [a["Properties"] for a in alarms if a["Properties"]["MetricName"] == "5xx"]
    assert api_5xx["Namespace"] == "AWS/ApiGateway"
    (api_id,) = resources(raw, "AWS::ApiGatewayV2::Api")
    assert api_5xx["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": api_id}}]


def test_every_alarm_notifies_the_alarm_topic_which_is_an_output(synthesized) -> None:
    raw, _ = synthesized
    (topic_id,) = resources(raw, "AWS::SNS::Topic")
    assert raw["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": topic_id}
    for alarm_id, alarm in resources(raw, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}], alarm_id
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}], alarm_id
    # Publishing over TLS only.
    (policy,) = resources(raw, "AWS::SNS::TopicPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_api_stage_throttles_every_route(template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"StageName": "$default", "DefaultRouteSettings": {"ThrottlingRateLimit": 500, "ThrottlingBurstLimit": 500}},
    )


def test_cors_allows_any_origin_with_a_bearer_token_but_never_credentials(template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"CorsConfiguration": {"AllowOrigins": ["*"], "AllowCredentials": False, "AllowMethods": ["*"],
                               "AllowHeaders": ["authorization", "content-type"], "MaxAge": 600}},
    )


def test_outputs_name_the_api_table_bucket_and_alarm_topic(synthesized) -> None:
    raw, _ = synthesized
    (table_id,) = resources(raw, "AWS::DynamoDB::Table")
    assert raw["Outputs"]["TableName"]["Value"] == {"Ref": table_id}
    assert {"ApiUrl", "BatchBucketName", "TableName", "AlarmTopicArn"} <= set(raw["Outputs"])


PHYSICAL_NAMES = ("Name", "FunctionName", "TopicName", "QueueName", "BucketName", "TableName", "LogGroupName",
                  "RoleName", "EventBusName")


def test_two_stacks_in_one_account_name_nothing_alike(built) -> None:
    """Every physical name the template fixes (the bus, the bulk function) comes from the stack name."""
    import aws_cdk as cdk

    from infra.stack import MeterbillStack

    app = cdk.App()
    stacks = [MeterbillStack(app, stack_name) for stack_name in ("Meterbill", "MeterbillStaging")]
    assembly = app.synth()
    names = []
    for stack in stacks:
        template = assembly.get_stack_by_name(stack.stack_name).template
        names.append({
            (kind, value)
            for resource in template["Resources"].values()
            for kind, value in resource.get("Properties", {}).items()
            if kind in PHYSICAL_NAMES and isinstance(value, str)
            and resource["Type"] != "AWS::ApiGatewayV2::Api"  # an HTTP API's Name is a label, not unique
        })
    assert names[0] and not names[0] & names[1]
    assert ("Name", "Meterbill-events") in names[0]  # the bus: not the fixed "meterbill" any more


def test_cfn_lint_finds_nothing(synthesized) -> None:
    """cfn-lint itself (`python -m cfnlint` has no __main__: it exited 1 without linting, which the old check
    read as "no errors"). W3005 is ignored: CDK gives each function an explicit DependsOn on the role it
    already references with GetAtt (ours and CDK's own bucket-notification handler); the redundancy is
    harmless."""
    _, out = synthesized
    lint = "import sys; from cfnlint.runner import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", lint, str(out / "Meterbill.template.json"), "--ignore-checks", "W3005"],
        capture_output=True, text=True,
    )
    assert "cfnlint" not in result.stderr, result.stderr  # it ran
    assert (result.returncode, result.stdout) == (0, ""), result.stdout


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
    # The managed-policy exception is CDK's own bucket-notification handler, never one of our functions.
    iam4 = {r["Resource ID"] for r in rows if r["Rule ID"] == "AwsSolutions-IAM4" and r["Compliance"] == "Suppressed"}
    assert all("/BucketNotificationsHandler" in resource for resource in iam4), iam4


def test_every_function_gets_the_environment_its_handler_declares(synthesized) -> None:
    """functions/handlers/environments.py: what each handler checks at init is set by infra/ (the local stack
    passes the template's environment to each function, so this is also what runs locally)."""
    from dataclasses import MISSING, fields

    from functions.handlers.environments import ENVIRONMENTS

    raw, _ = synthesized
    seen = set()
    for function in resources(raw, "AWS::Lambda::Function").values():
        handler = function["Properties"]["Handler"]
        if not handler.startswith("functions.handlers."):
            continue  # CDK's own helper functions
        name = handler.split(".")[2]
        seen.add(name)
        required = {f.name.upper() for f in fields(ENVIRONMENTS[name]) if f.default is MISSING}
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert required <= set(variables), (name, required - set(variables))
    assert seen == set(ENVIRONMENTS)


def test_webhook_deliveries_flow_from_the_bus_through_a_queue_with_a_day_of_retries(synthesized) -> None:
    from functions.webhooks.facts import TYPE_OF_DETAIL
    from functions.webhooks.retries import MAX_ATTEMPTS

    raw, _ = synthesized
    functions = resources(raw, "AWS::Lambda::Function")
    (delivery_id,) = [k for k, f in functions.items()
                      if f["Properties"]["Handler"] == "functions.handlers.webhook_delivery.handler"]
    (mapping,) = [m["Properties"] for m in resources(raw, "AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["FunctionName"] == {"Ref": delivery_id}]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]  # one failing message, not the batch
    queue_id = mapping["EventSourceArn"]["Fn::GetAtt"][0]
    queue = raw["Resources"][queue_id]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_ATTEMPTS
    assert queue["VisibilityTimeout"] >= 6 * functions[delivery_id]["Properties"]["Timeout"]

    (rule,) = [r["Properties"] for r in resources(raw, "AWS::Events::Rule").values()
               if "EventPattern" in r["Properties"]]
    assert rule["EventPattern"] == {"source": ["meterbill"], "detail-type": sorted(TYPE_OF_DETAIL)}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # EventBridge may send to the queue only from this rule (a resource policy: the local stack does not check
    # those, so the template is checked here).
    (policy,) = [p["Properties"] for p in resources(raw, "AWS::SQS::QueuePolicy").values()
                 if {"Ref": queue_id} in p["Properties"]["Queues"]]
    statements = policy["PolicyDocument"]["Statement"]
    (rule_id,) = [k for k, r in resources(raw, "AWS::Events::Rule").items() if "EventPattern" in r["Properties"]]
    assert any(s["Principal"] == {"Service": "events.amazonaws.com"} and "sqs:SendMessage" in s["Action"]
               and s["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
               for s in statements if s["Effect"] == "Allow"), statements

def test_the_cycle_close_fans_out_to_workers_which_queue_invoices_for_the_publisher(synthesized) -> None:
    from infra.invoice_publishing import MAX_RECEIVES

    raw, _ = synthesized
    functions = resources(raw, "AWS::Lambda::Function")
    by_handler = {f["Properties"]["Handler"].split(".")[2]: (k, f["Properties"]) for k, f in functions.items()
                  if f["Properties"]["Handler"].startswith("functions.handlers.")}
    publisher_id, publisher = by_handler["invoice_publisher"]
    (mapping,) = [m["Properties"] for m in resources(raw, "AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["FunctionName"] == {"Ref": publisher_id}]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_id = mapping["EventSourceArn"]["Fn::GetAtt"][0]
    queue = raw["Resources"][queue_id]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    assert queue["VisibilityTimeout"] >= 6 * publisher["Timeout"]
    _, close = by_handler["cycle_close"]
    worker_id, worker = by_handler["close_worker"]
    (due,) = [m["Properties"] for m in resources(raw, "AWS::Lambda::EventSourceMapping").values()
              if m["Properties"]["FunctionName"] == {"Ref": worker_id}]
    due_queue_id = due["EventSourceArn"]["Fn::GetAtt"][0]
    due_queue = raw["Resources"][due_queue_id]["Properties"]
    assert due_queue["FifoQueue"] is True  # one organization's closes one at a time (its message group)
    assert due["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and due["ScalingConfig"]["MaximumConcurrency"]
    assert due_queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert close["Environment"]["Variables"]["CLOSE_QUEUE_URL"] == {"Ref": due_queue_id}
    assert worker["Environment"]["Variables"]["PUBLISH_QUEUE_URL"] == {"Ref": queue_id}
    for closing in (close, worker):  # neither renders
        assert "INVOICE_BUCKET" not in closing["Environment"]["Variables"]
    assert "INVOICE_BUCKET" in publisher["Environment"]["Variables"]


def test_the_local_template_is_made_stale_by_every_module_infra_reads() -> None:
    """The local stack synthesizes again when a source of the template changed; a functions/ module infra/
    imports (the webhook rule's detail types, the table's shape) is such a source."""
    import ast
    from pathlib import Path

    from local_stack.template import SOURCES

    root = Path(__file__).resolve().parents[2]
    imported = set()
    for path in [*(root / "infra").rglob("*.py"), root / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("functions."):
                base = node.module.replace(".", "/")
                for alias in node.names:  # `from functions.store import table_spec` names a module
                    module = f"{base}/{alias.name}.py"
                    imported.add(module if (root / module).exists() else f"{base}.py")
    assert imported and imported <= set(SOURCES), imported - set(SOURCES)
