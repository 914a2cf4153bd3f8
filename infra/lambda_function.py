"""How every Meterbill Lambda is built: the code asset, the dependency layer, its log group and its own role."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"


def build_dir(name: str) -> str:
    path = BUILD / name
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is missing: run `make build` first")
    return str(path)


class Layer(Construct):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(build_dir("layer")),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            description="Meterbill runtime dependencies (requirements/lambda.txt)",
        )


class MeterbillFunction(Construct):
    """One Lambda with its own role, log group, layer and environment.

    The role starts empty: no AWSLambdaBasicExecutionRole (it allows writing to every log group in the
    account), only writing to this function's own log group; each capability's construct grants the rest,
    action by action (docs/operations.md lists every role's actions and the code that needs them). No X-Ray:
    nothing in the code emits trace data (no Tracer, no X-Ray SDK in the layer) and HTTP APIs do not start
    traces, so active tracing would only buy a per-invocation segment that the Duration metric already gives.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        handler: str,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        timeout: Duration = Duration.seconds(29),
        memory_size: int = 1024,
        function_name: str | None = None,
        reserved_concurrent_executions: int | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.function_name = function_name
        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Meterbill {id} Lambda: its own log group and what its code calls",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=lambda_.Code.from_asset(build_dir("lambda")),
            layers=[layer],
            memory_size=memory_size,
            timeout=timeout,
            role=self.role,
            reserved_concurrent_executions=reserved_concurrent_executions,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": id.lower(),
                "POWERTOOLS_METRICS_NAMESPACE": "Meterbill",
                **environment,
            },
        )

    def allow_invoking_itself(self) -> None:
        """lambda:InvokeFunction on this function's own ARN and nothing else (a long run continues in a fresh
        asynchronous invocation of itself). Needs an explicit function_name (infra.names.stack_scoped_name)."""
        if self.function_name is None:
            raise ValueError("a function that invokes itself needs an explicit function_name")
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[Stack.of(self).format_arn(service="lambda", resource="function",
                                                 resource_name=self.function_name,
                                                 arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))

    def grant_table(self, table: dynamodb.ITable, actions: Iterable[str], *,
                    indexes: Iterable[dict[str, str]] = ()) -> None:
        """Item actions on the table itself, and Query (the only index action the code uses) on the global
        secondary indexes named (table_spec.GSI1, GSI2): each function only on the indexes it reads."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=sorted(actions), resources=[table.table_arn])
        )
        names = [index["name"] for index in indexes]
        if names:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["dynamodb:Query"],
                                    resources=[f"{table.table_arn}/index/{name}" for name in names])
            )

    def grant_objects(self, bucket: s3.IBucket, actions: Iterable[str], key_pattern: str) -> None:
        """Exactly these object actions under one key prefix (CDK's grant_put/grant_read add action families
        and bucket-level actions the code never calls)."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=sorted(actions), resources=[bucket.arn_for_objects(key_pattern)])
        )


def failure_queue(scope: Construct, id: str, *, fifo: bool = False) -> sqs.Queue:
    """Where an asynchronous path parks what it could not process: encrypted, TLS only, kept 14 days (FIFO for a
    FIFO queue's dead letters, which SQS requires)."""
    return sqs.Queue(scope, id, retention_period=Duration.days(14), encryption=sqs.QueueEncryption.SQS_MANAGED,
                     enforce_ssl=True, fifo=fifo or None)


def work_queue(scope: Construct, id: str, *, function_timeout: Duration, dead_letters: sqs.IQueue,
               max_receives: int, fifo: bool = False) -> sqs.Queue:
    """A queue a Lambda reads (an SQS event source): encrypted, TLS only, kept 4 days, and a message received
    `max_receives` times moved to `dead_letters`. Its visibility timeout is six times the function's, AWS's advice
    for such a queue, so a batch the poller retries is not handed out again while it still runs."""
    return sqs.Queue(
        scope, id,
        fifo=fifo or None,
        visibility_timeout=Duration.seconds(function_timeout.to_seconds() * 6),
        retention_period=Duration.days(4),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receives, queue=dead_letters),
    )
