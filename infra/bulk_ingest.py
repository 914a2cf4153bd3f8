"""Bulk ingestion: the Lambda on the batch bucket's ObjectCreated, with an on-failure destination."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra.lambda_function import MeterbillFunction, failure_queue
from infra.names import stack_scoped_name
from infra.storage import Storage

# Events and aggregates written in transactions (as ingest does), the file's progress item claimed and saved.
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                 "dynamodb:UpdateItem")
INCOMING = "incoming/*"  # what the notification fires on, and the only keys the function opens
RESULTS = "results/*"  # {file}.result.json and {file}.rejects/...: functions/bulk/service.py


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
            # Named after the stack so that its role can name the one function it may invoke: itself.
            function_name=stack_scoped_name(self, "BulkIngest"),
        )
        fn = self.handler.function
        self.handler.grant_table(storage.table, TABLE_ACTIONS)
        # The notification names the object's version; reading a given version is s3:GetObjectVersion.
        self.handler.grant_objects(storage.batch_bucket, ("s3:GetObject", "s3:GetObjectVersion"), INCOMING)
        self.handler.grant_objects(storage.batch_bucket, ("s3:PutObject",), RESULTS)
        storage.bus.grant_put_events_to(self.handler.role)  # threshold crossings, as ingest
        self.handler.allow_invoking_itself()  # continuing a long file in a fresh invocation
        fn.configure_async_invoke(
            retry_attempts=2,
            on_failure=destinations.SqsDestination(self.failures),
        )
        storage.batch_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(fn), s3.NotificationKeyFilter(prefix="incoming/")
        )
