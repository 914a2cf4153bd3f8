"""Bulk ingestion: the Lambda on the batch bucket's ObjectCreated, with an on-failure destination."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra.lambda_function import MeterbillFunction, failure_queue
from infra.storage import Storage

# Events and aggregates written in transactions (as ingest does), the file's progress item claimed and saved.
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                 "dynamodb:UpdateItem")
INCOMING = "incoming/*"  # what the notification fires on, and the only keys the function opens
RESULTS = "results/*"  # {file}.result.json and {file}.rejects/...: functions/bulk/service.py


def bulk_function_name(stack: Stack) -> str:
    """An explicit name, derived from the stack's, so that the function's role can name the one function it
    may invoke (itself) without referring to the function resource (a circular dependency), and two stacks
    in one account and region do not collide."""
    name = f"{stack.stack_name}-BulkIngest"
    if Token.is_unresolved(name) or len(name) > 64:
        raise ValueError(f"the bulk-ingest function name must be known at synth and at most 64 characters: {name}")
    return name


class BulkIngest(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.failures = failure_queue(self, "Failures")
        self.function_name = bulk_function_name(stack)
        self.handler = MeterbillFunction(
            self,
            "BulkIngest",
            handler="functions.handlers.bulk_ingest.handler",
            layer=layer,
            environment={
                "TABLE_NAME": storage.table.table_name,
                "BATCH_BUCKET": storage.batch_bucket.bucket_name,
                "EVENT_BUS_NAME": storage.bus.event_bus_name,
            },
            timeout=Duration.minutes(15),
            memory_size=512,
            function_name=self.function_name,
        )
        fn = self.handler.function
        self.handler.grant_table(storage.table, TABLE_ACTIONS)
        # The notification names the object's version; reading a given version is s3:GetObjectVersion.
        self.handler.grant_objects(storage.batch_bucket, ("s3:GetObject", "s3:GetObjectVersion"), INCOMING)
        self.handler.grant_objects(storage.batch_bucket, ("s3:PutObject",), RESULTS)
        storage.bus.grant_put_events_to(self.handler.role)  # threshold crossings, as ingest
        # Continuing a long file in a fresh invocation of itself: its own ARN, nothing else.
        self.handler.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[stack.format_arn(service="lambda", resource="function", resource_name=self.function_name,
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        fn.configure_async_invoke(
            retry_attempts=2,
            on_failure=destinations.SqsDestination(self.failures),
        )
        storage.batch_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(fn), s3.NotificationKeyFilter(prefix="incoming/")
        )
