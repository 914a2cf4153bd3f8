"""Bulk ingestion: the Lambda on the batch bucket's ObjectCreated, with an on-failure destination."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra.lambda_function import TABLE_READ, MeterbillFunction, failure_queue
from infra.storage import Storage


class BulkIngest(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.failures = failure_queue(self, "Failures")
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
        )
        fn = self.handler.function
        self.handler.grant_table(storage.table, TABLE_READ + ("dynamodb:PutItem", "dynamodb:UpdateItem"))
        storage.batch_bucket.grant_read(fn)
        # Results and rejects objects, and re-invoking itself to continue a long file.
        storage.batch_bucket.grant_put(fn, "results/*")
        storage.bus.grant_put_events_to(fn)
        # Continuing a long file in a fresh invocation of itself (the function's own ARN, nothing else).
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[Stack.of(self).format_arn(service="lambda", resource="function",
                                                 resource_name="*BulkIngest*",
                                                 arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        fn.configure_async_invoke(
            retry_attempts=2,
            on_failure=destinations.SqsDestination(self.failures),
        )
        storage.batch_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(fn), s3.NotificationKeyFilter(prefix="incoming/")
        )
