"""Least privilege, checked against the code: each Lambda's role grants exactly the AWS actions its handler's
code can call (tests/infra/code_calls.py reads them from functions/), on exactly the resources it uses."""

from __future__ import annotations

import pytest

from tests.infra.code_calls import INDEX_QUERY, actions_reached

HANDLERS = ("ingest", "management", "portal", "bulk_ingest", "cycle_close", "close_worker", "webhook_delivery",
            "invoice_publisher")
# Granted by CDK for the async on-failure destination (Lambda sends the failed event with the role's rights).
DESTINATION_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# Used by Lambda's SQS poller with the function's role, not by its code (the event source mapping).
POLLER_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                  "sqs:ChangeMessageVisibility"}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def roles(synthesized) -> dict[str, dict]:
    """handler name -> {"role": logical id, "function": logical id, "statements": [...]}."""
    raw, _ = synthesized
    out = {}
    for function_id, function in raw["Resources"].items():
        if function["Type"] != "AWS::Lambda::Function":
            continue
        handler = function["Properties"]["Handler"]
        if not handler.startswith("functions.handlers."):
            continue  # CDK's own deploy-time handlers
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in raw["Resources"].values() if policy["Type"] == "AWS::IAM::Policy"
            and {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        out[handler.split(".")[2]] = {"role": role_id, "function": function_id, "statements": statements,
                                      "properties": function["Properties"],
                                      "destination": any(
                                          c["Type"] == "AWS::Lambda::EventInvokeConfig"
                                          and c["Properties"]["FunctionName"] == {"Ref": function_id}
                                          and "DestinationConfig" in c["Properties"]
                                          for c in raw["Resources"].values()),
                                      "polls_a_queue": any(
                                          c["Type"] == "AWS::Lambda::EventSourceMapping"
                                          and c["Properties"]["FunctionName"] == {"Ref": function_id}
                                          for c in raw["Resources"].values())}
    assert set(out) == set(HANDLERS)
    return out


def _granted(statements: list[dict]) -> set[str]:
    granted = {a for s in statements for a in _as_list(s["Action"])}
    if any("dynamodb:Query" in _as_list(s["Action"]) and "/index/" in str(s["Resource"]) for s in statements):
        granted.add(INDEX_QUERY)
    return granted


@pytest.mark.parametrize("handler", HANDLERS)
def test_role_grants_exactly_what_the_code_calls(roles, handler: str) -> None:
    needed = actions_reached(f"functions.handlers.{handler}")
    granted = _granted(roles[handler]["statements"]) - LOG_ACTIONS
    if roles[handler]["destination"]:  # Lambda's own sends to the failure queue; the code may send elsewhere too
        granted -= DESTINATION_ACTIONS - needed
    if roles[handler]["polls_a_queue"]:  # the event source's grant, whatever the code calls itself
        granted -= POLLER_ACTIONS - needed
    assert {"missing": needed - granted, "unused": granted - needed} == {"missing": set(), "unused": set()}


def test_backfill_batch_writes_are_granted_where_the_backfill_runs(roles) -> None:
    for handler in ("management", "cycle_close"):
        assert "dynamodb:BatchWriteItem" in _granted(roles[handler]["statements"])


def test_portal_reads_the_table_and_writes_only_self_service_items(roles) -> None:
    # PutEvents: a customer's own cancellation or plan change is announced (subscription.* webhooks).
    assert _granted(roles["portal"]["statements"]) - LOG_ACTIONS == {
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "events:PutEvents"}


def test_each_lambda_has_its_own_role_with_no_managed_policy(synthesized, roles) -> None:
    raw, _ = synthesized
    role_ids = [r["role"] for r in roles.values()]
    assert len(set(role_ids)) == len(HANDLERS)
    for role_id in role_ids:
        assert "ManagedPolicyArns" not in raw["Resources"][role_id]["Properties"]


def test_no_function_traces_with_xray(roles) -> None:
    for handler, role in roles.items():
        assert "TracingConfig" not in role["properties"], handler
        assert not any(a.startswith("xray:") for a in _granted(role["statements"])), handler


def test_logs_go_only_to_the_functions_own_log_group(roles) -> None:
    for handler, role in roles.items():
        log_statements = [s for s in role["statements"] if set(_as_list(s["Action"])) & LOG_ACTIONS]
        log_group = role["properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert [s["Resource"] for s in log_statements] == [{"Fn::GetAtt": [log_group, "Arn"]}], handler


def test_no_statement_has_a_star_action_or_resource(roles) -> None:
    for handler, role in roles.items():
        for statement in role["statements"]:
            actions = _as_list(statement["Action"])
            assert "*" not in actions and not any(a.endswith(":*") or a.endswith("*") for a in actions), handler
            assert "*" not in _as_list(statement["Resource"]), (handler, statement)


# The indexes each function queries: GSI1 (the close's work lists), GSI2 (a customer's events by time).
INDEXES_QUERIED = {"cycle_close": {"GSI1"}, "management": {"GSI2"}}


def test_table_actions_are_on_the_table_and_index_queries_on_named_indexes(roles) -> None:
    for handler, role in roles.items():
        indexes = set()
        for statement in role["statements"]:
            actions = _as_list(statement["Action"])
            if not any(a.startswith("dynamodb:") for a in actions):
                continue
            for resource in _as_list(statement["Resource"]):
                if "Fn::Join" in resource:  # an index: Query only, named
                    assert actions == ["dynamodb:Query"], handler
                    indexes.add(resource["Fn::Join"][1][1].removeprefix("/index/"))
                else:
                    assert resource["Fn::GetAtt"][0].startswith("StorageTable"), handler
        assert indexes == INDEXES_QUERIED.get(handler, set()), handler


def _object_grants(statements: list[dict]) -> dict[str, set[str]]:
    """key pattern -> actions, for S3 object statements (resources are `<bucket arn>/<pattern>`)."""
    out: dict[str, set[str]] = {}
    for statement in statements:
        actions = _as_list(statement["Action"])
        if any(a.startswith("s3:") for a in actions):
            bucket, pattern = statement["Resource"]["Fn::Join"][1]
            out.setdefault(f"{bucket['Fn::GetAtt'][0].split('Bucket')[0]}:{pattern}", set()).update(actions)
    return out


def test_object_access_is_under_the_prefixes_the_code_uses(roles) -> None:
    assert _object_grants(roles["management"]["statements"]) == {
        "StorageInvoice:/invoices/*": {"s3:GetObject", "s3:PutObject"}}
    assert _object_grants(roles["cycle_close"]["statements"]) == {}  # it writes no invoice
    assert _object_grants(roles["close_worker"]["statements"]) == {}  # its invoices are the publisher's to render
    assert _object_grants(roles["invoice_publisher"]["statements"]) == {
        "StorageInvoice:/invoices/*": {"s3:PutObject"}}
    assert _object_grants(roles["bulk_ingest"]["statements"]) == {
        "StorageBatch:/incoming/*": {"s3:GetObject", "s3:GetObjectVersion"},
        "StorageBatch:/results/*": {"s3:PutObject"},
    }
    assert _object_grants(roles["ingest"]["statements"]) == _object_grants(roles["portal"]["statements"]) == {}


@pytest.mark.parametrize(("handler", "name"), [("bulk_ingest", "Meterbill-BulkIngest"),
                                                ("cycle_close", "Meterbill-CycleClose")])
def test_a_function_that_continues_itself_may_invoke_only_itself(roles, handler: str, name: str) -> None:
    function = roles[handler]
    assert function["properties"]["FunctionName"] == name  # derived from the stack name
    invokes = [s for s in function["statements"] if "lambda:InvokeFunction" in _as_list(s["Action"])]
    assert len(invokes) == 1
    assert invokes[0]["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":lambda:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
        f":function:{name}",
    ]]}


def test_no_other_function_may_invoke_a_function(roles) -> None:
    for handler, role in roles.items():
        if handler not in ("bulk_ingest", "cycle_close"):
            assert "lambda:InvokeFunction" not in _granted(role["statements"]), handler
