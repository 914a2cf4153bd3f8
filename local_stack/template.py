"""The synthesized CloudFormation template, read the way CloudFormation would deploy it.

The local stack builds nothing from its own idea of the stack: tables, buckets, the bus, queues, each function's
environment, timeout, role policies, async retry policy and destinations, S3 notifications, schedules and API
routes all come from `cdk.out/Meterbill.template.json`. It is synthesized (`make build` then `python app.py`)
when it is missing or older than the code that makes it.

Physical names: CloudFormation would add a random suffix; locally a resource is named after its logical id
(lower-cased where AWS requires it), in one local account and region.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.handlers.routes import Route  # method, path, function (here: the function's deployed name)

ROOT = Path(__file__).resolve().parent.parent
CDK_OUT = ROOT / "cdk.out"
STACK_NAME = "Meterbill"
TEMPLATE = CDK_OUT / f"{STACK_NAME}.template.json"
# moto's default account, so that the ARNs and queue URLs moto makes match the ones resolved here.
ACCOUNT = "123456789012"
REGION = "us-east-1"
# What the template is made from: a change to any of these makes it stale.
# (The functions/ modules are those infra/ imports: tests/infra/test_stack.py checks that none is missing.)
SOURCES = ("app.py", "cdk.json", "infra", "functions/handlers/routes.py", "functions/store/table_spec.py",
           "functions/adapters/eventbridge.py", "functions/webhooks/facts.py", "functions/webhooks/retries.py")


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = path.rglob("*.py") if path.is_dir() else [path]
        for file in files:
            newest = max(newest, file.stat().st_mtime)
    return newest


BUILD = ROOT / ".build"
# What the build's output depends on besides functions/ (a copy the local stack does not run).
BUILD_INPUTS = ("Makefile", "requirements/lambda.txt", "infra/slim_botocore.py", "infra/lazy_inits.py")


def _build_stale() -> bool:
    layer = BUILD / "layer"
    return not layer.is_dir() or not (BUILD / "lambda").is_dir() or any(
        (ROOT / f).stat().st_mtime > BUILD.stat().st_mtime for f in BUILD_INPUTS)


def ensure_built() -> Path:
    """`.build` as `make build` makes it: built again when missing or older than how it is made, under one lock
    for every process of this checkout (test workers, the local stack), so none deletes it while another reads."""
    if _build_stale():
        with open(ROOT / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _build_stale():  # another process may have built it meanwhile
                print("building the Lambda asset and layer (make build) ...", file=sys.stderr, flush=True)
                subprocess.run(["make", "-s", "build"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return BUILD


def ensure_synthesized(out: Path = CDK_OUT) -> Path:
    """Synthesize when the template is missing or older than infra/ (one process at a time: a file lock)."""
    out.mkdir(parents=True, exist_ok=True)
    template = out / f"{STACK_NAME}.template.json"
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists() and template.stat().st_mtime >= _newest_source_mtime():
            return template
        ensure_built()
        print("synthesizing the stack (python app.py) ...", file=sys.stderr, flush=True)
        env = {**os.environ, "CDK_OUTDIR": str(out), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        template.touch()
    return template


@dataclass
class Statement:
    effect: str
    actions: list[str]
    resources: list[str]


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    role: str  # the role's logical id
    reserved_concurrency: int | None = None
    max_retries: int = 2  # Lambda's default for asynchronous invocations
    max_event_age: int = 6 * 3600
    on_failure: str | None = None  # a destination ARN
    on_success: str | None = None


@dataclass
class Notification:
    bucket: str
    function: str  # function name
    events: list[str]
    prefix: str = ""
    suffix: str = ""


@dataclass
class Schedule:
    name: str
    expression: str
    function: str  # function name


@dataclass
class QueueSpec:
    name: str
    visibility_timeout: int = 30  # SQS's default
    retention: int = 4 * 24 * 3600
    dead_letter_queue: str | None = None  # the queue's name
    max_receive_count: int | None = None
    fifo: bool = False


@dataclass
class BusRule:
    """A rule with an event pattern on a bus, and the queues it sends matching events to."""
    name: str
    bus: str
    pattern: dict[str, Any]
    queues: list[str]  # queue ARNs


@dataclass
class QueueMapping:
    """A Lambda event source mapping on an SQS queue."""
    queue: str  # name
    queue_arn: str
    function: str  # name
    batch_size: int = 10
    report_batch_item_failures: bool = False
    maximum_concurrency: int = 1  # the mapping's ScalingConfig: batches handled at once (pollers, locally)


@dataclass
class Stack:
    resources: dict[str, dict[str, Any]]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by function name
    policies: dict[str, list[Statement]] = field(default_factory=dict)  # by role logical id
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # by table name: the CFN properties
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)  # by bucket name
    queues: list[QueueSpec] = field(default_factory=list)
    rules: list[BusRule] = field(default_factory=list)
    queue_mappings: list[QueueMapping] = field(default_factory=list)
    buses: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def function_by_arn(self, arn_or_name: str) -> FunctionSpec:
        name = arn_or_name.split(":function:", 1)[-1].split(":", 1)[0]
        return self.functions[name]

    def role_of_function(self, name: str) -> str:
        return self.functions[name].role


def physical_name(logical_id: str, kind: str) -> str:
    if kind in ("AWS::S3::Bucket",):
        return f"{STACK_NAME}-{logical_id}".lower()[:63]
    return f"{STACK_NAME}-{logical_id}"[:64]


class Resolver:
    """CloudFormation's intrinsic functions over local physical names."""

    def __init__(self, resources: dict[str, dict[str, Any]]) -> None:
        self.resources = resources

    def name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        explicit = {"AWS::Lambda::Function": "FunctionName", "AWS::S3::Bucket": "BucketName",
                    "AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
                    "AWS::Events::EventBus": "Name", "AWS::SNS::Topic": "TopicName"}.get(resource["Type"])
        if explicit and explicit in props:
            return str(self.resolve(props[explicit]))
        if resource["Type"] == "AWS::SQS::Queue" and str(props.get("FifoQueue", "false")).lower() == "true":
            return physical_name(logical_id, resource["Type"])[:59] + ".fifo"  # as CloudFormation names one
        return physical_name(logical_id, resource["Type"])

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.name(logical_id)
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
        }
        if kind not in arns:
            raise ValueError(f"no local ARN for {logical_id} ({kind})")
        return arns[kind]

    def ref(self, logical_id: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": STACK_NAME, "AWS::NoValue": ""}
        if logical_id in pseudo:
            return pseudo[logical_id]
        kind = self.resources[logical_id]["Type"]
        if kind in ("AWS::SQS::Queue",):
            return f"http://sqs.{REGION}.localhost/{ACCOUNT}/{self.name(logical_id)}"
        if kind in ("AWS::SNS::Topic", "AWS::Lambda::LayerVersion"):
            return self.arn(logical_id) if kind == "AWS::SNS::Topic" else f"local-layer-{logical_id}"
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("QueueName", "Name"):
            return self.name(logical_id)
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        if attribute == "ApiEndpoint":
            return "http://127.0.0.1"  # replaced by the local gateway's URL (PUBLIC_URL)
        raise ValueError(f"unsupported Fn::GetAtt {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(str(p) for p in self.resolve(parts))
            if function == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if function == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if function.startswith("Fn::"):
                raise ValueError(f"unsupported intrinsic {function}")
        return {k: self.resolve(v) for k, v in value.items()}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def load(path: Path | None = None) -> Stack:
    template = json.loads((path or ensure_synthesized()).read_text())
    resources: dict[str, dict[str, Any]] = template["Resources"]
    r = Resolver(resources)
    stack = Stack(resources=resources)
    by_kind: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        by_kind.setdefault(resource["Type"], []).append(logical_id)

    for logical_id in by_kind.get("AWS::DynamoDB::Table", []):
        stack.tables[r.name(logical_id)] = resources[logical_id]["Properties"]
    for logical_id in by_kind.get("AWS::S3::Bucket", []):
        stack.buckets[r.name(logical_id)] = resources[logical_id].get("Properties", {})
    for logical_id in by_kind.get("AWS::SQS::Queue", []):
        props = r.resolve(resources[logical_id].get("Properties", {}))
        redrive = props.get("RedrivePolicy") or {}
        stack.queues.append(QueueSpec(
            name=r.name(logical_id), visibility_timeout=int(props.get("VisibilityTimeout", 30)),
            retention=int(props.get("MessageRetentionPeriod", 4 * 24 * 3600)),
            dead_letter_queue=str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1] if redrive else None,
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            fifo=str(props.get("FifoQueue", "false")).lower() == "true"))
    stack.buses = [r.name(b) for b in by_kind.get("AWS::Events::EventBus", [])]

    for logical_id in by_kind.get("AWS::IAM::Policy", []):
        props = resources[logical_id]["Properties"]
        statements = [
            Statement(s["Effect"], [str(a) for a in _as_list(s["Action"])],
                      [str(x) for x in _as_list(r.resolve(s.get("Resource", "*")))])
            for s in props["PolicyDocument"]["Statement"]
        ]
        for role in props.get("Roles", []):
            stack.policies.setdefault(role["Ref"], []).extend(statements)

    for logical_id in by_kind.get("AWS::Lambda::Function", []):
        props = resources[logical_id]["Properties"]
        if not str(props.get("Handler", "")).startswith("functions.handlers."):
            continue  # CDK's own custom-resource handlers run at deploy time, not in the application
        variables = props.get("Environment", {}).get("Variables", {})
        spec = FunctionSpec(
            logical_id=logical_id,
            name=r.name(logical_id),
            arn=r.arn(logical_id),
            handler=props["Handler"],
            environment={k: str(r.resolve(v)) for k, v in variables.items()},
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            role=props["Role"]["Fn::GetAtt"][0],
            reserved_concurrency=props.get("ReservedConcurrentExecutions"),
        )
        stack.functions[spec.name] = spec
    for logical_id in by_kind.get("AWS::Lambda::EventInvokeConfig", []):
        props = r.resolve(resources[logical_id]["Properties"])
        spec = stack.functions[props["FunctionName"]]
        spec.max_retries = int(props.get("MaximumRetryAttempts", 2))
        spec.max_event_age = int(props.get("MaximumEventAgeInSeconds", spec.max_event_age))
        destinations = props.get("DestinationConfig", {})
        spec.on_failure = destinations.get("OnFailure", {}).get("Destination")
        spec.on_success = destinations.get("OnSuccess", {}).get("Destination")

    for logical_id in by_kind.get("Custom::S3BucketNotifications", []):
        props = r.resolve(resources[logical_id]["Properties"])
        for config in props.get("NotificationConfiguration", {}).get("LambdaFunctionConfigurations", []):
            rules = {rule["Name"].lower(): rule["Value"]
                     for rule in config.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
            stack.notifications.append(Notification(
                bucket=props["BucketName"], function=stack.function_by_arn(config["LambdaFunctionArn"]).name,
                events=config["Events"], prefix=rules.get("prefix", ""), suffix=rules.get("suffix", "")))
    for logical_id in by_kind.get("AWS::Lambda::EventSourceMapping", []):
        props = r.resolve(resources[logical_id]["Properties"])
        queue_arn = str(props["EventSourceArn"])
        if ":sqs:" not in queue_arn:
            continue
        stack.queue_mappings.append(QueueMapping(
            queue=queue_arn.rsplit(":", 1)[-1], queue_arn=queue_arn,
            function=stack.function_by_arn(str(props["FunctionName"])).name,
            batch_size=int(props.get("BatchSize", 10)),
            report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            maximum_concurrency=int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 1))))
    for logical_id in by_kind.get("AWS::Events::Rule", []):
        props = resources[logical_id]["Properties"]
        if props.get("State", "ENABLED") != "ENABLED":
            continue
        if "EventPattern" in props:
            stack.rules.append(BusRule(
                name=physical_name(logical_id, "AWS::Events::Rule"), bus=str(r.resolve(props.get("EventBusName",
                                                                                                  "default"))),
                pattern=r.resolve(props["EventPattern"]),
                queues=[str(r.resolve(t["Arn"])) for t in props.get("Targets", [])
                        if ":sqs:" in str(r.resolve(t["Arn"]))]))
            continue
        if "ScheduleExpression" not in props:
            continue
        for target in props.get("Targets", []):
            arn = str(r.resolve(target["Arn"]))
            if ":function:" in arn:
                stack.schedules.append(Schedule(logical_id, props["ScheduleExpression"],
                                                stack.function_by_arn(arn).name))

    integrations = {
        logical_id: stack.function_by_arn(str(r.resolve(resources[logical_id]["Properties"]["IntegrationUri"]))).name
        for logical_id in by_kind.get("AWS::ApiGatewayV2::Integration", [])
    }
    for logical_id in by_kind.get("AWS::ApiGatewayV2::Route", []):
        props = resources[logical_id]["Properties"]
        integration = props["Target"]["Fn::Join"][1][1]["Ref"]
        method, route_path = str(props["RouteKey"]).split(" ", 1)
        stack.routes.append(Route(method, route_path, integrations[integration]))
    return stack


def schedule_seconds(expression: str) -> float:
    """`rate(15 minutes)` in seconds (cron expressions are not used by this stack)."""
    if not expression.startswith("rate("):
        raise ValueError(f"unsupported schedule {expression}")
    amount, unit = expression[5:-1].split()
    return int(amount) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400,
                          "days": 86400}[unit]
