"""How every Meterbill Lambda is built: the code asset, the dependency layer, logging and its own role."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"

# Table actions by need; no Lambda gets "*" or a table it does not use.
TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


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
    """One Lambda with its own role, log group, layer and environment."""

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
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=lambda_.Code.from_asset(build_dir("lambda")),
            layers=[layer],
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": id.lower(),
                "POWERTOOLS_METRICS_NAMESPACE": "Meterbill",
                **environment,
            },
        )

    def grant_table(self, table: dynamodb.ITable, actions: tuple[str, ...]) -> None:
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(actions),
                resources=[table.table_arn, f"{table.table_arn}/index/*"],
            )
        )


def failure_queue(scope: Construct, id: str) -> sqs.Queue:
    """Where an asynchronous path parks what it could not process: encrypted, TLS only, kept 14 days."""
    return sqs.Queue(scope, id, retention_period=Duration.days(14), encryption=sqs.QueueEncryption.SQS_MANAGED,
                     enforce_ssl=True)
