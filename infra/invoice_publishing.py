"""Invoice publishing: the queue the cycle close puts its invoices on, and the Lambda that renders and announces
them, off the close's path.

A close run writes invoices at the pace of its DynamoDB transactions; rendering a PDF and putting it and the
JSON to S3 took most of each subscription's time when the close did it inline (docs/performance.md). Queued,
the publisher scales on its own (SQS event source), a failed invoice is retried on its own, and a run of the
close is not held up by S3.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.lambda_function import MeterbillFunction, failure_queue, work_queue
from infra.storage import Storage

# The invoice read, then marked published (its artifacts set, off the unpublished index).
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
INVOICE_OBJECTS = "invoices/*"  # functions/billing/invoices.py: invoices/{organization}/{invoice}.pdf|json
TIMEOUT = Duration.seconds(120)  # a batch of BATCH_SIZE invoices, a PDF and two S3 puts each
BATCH_SIZE = 10
# Batches at once: a close of 100,000 subscriptions queues 10,000 batches within minutes, and each batch is two S3
# puts and a DynamoDB update per invoice; the cap keeps a month's end from taking the account's concurrency.
CONCURRENCY = 10
MAX_RECEIVES = 5  # then the dead-letter queue; the invoice stays unpublished and the next close queues it again


class InvoicePublishing(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.dead_letters = failure_queue(self, "DeadLetters")
        self.queue = work_queue(self, "Invoices", function_timeout=TIMEOUT, dead_letters=self.dead_letters,
                                max_receives=MAX_RECEIVES)
        self.handler = MeterbillFunction(
            self,
            "InvoicePublisher",
            handler="functions.handlers.invoice_publisher.handler",
            layer=layer,
            environment={
                "TABLE_NAME": storage.table.table_name,
                "INVOICE_BUCKET": storage.invoice_bucket.bucket_name,
                "EVENT_BUS_NAME": storage.bus.event_bus_name,
            },
            timeout=TIMEOUT,
            memory_size=1024,
        )
        self.handler.grant_table(storage.table, TABLE_ACTIONS)
        self.handler.grant_objects(storage.invoice_bucket, ("s3:PutObject",), INVOICE_OBJECTS)
        storage.bus.grant_put_events_to(self.handler.role)  # invoice.created, invoice.paid
        # The event source grants the function's role what its poller does with the queue (CDK's
        # grant_consume_messages, ChangeMessageVisibility included).
        self.handler.function.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=BATCH_SIZE, report_batch_item_failures=True, max_concurrency=CONCURRENCY))

    def allow_queueing(self, fn: MeterbillFunction) -> None:
        """`fn` puts invoices on the queue: SendMessage (which SendMessageBatch needs), and the queue's URL."""
        fn.role.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"],
                                                            resources=[self.queue.queue_arn]))
        fn.function.add_environment("PUBLISH_QUEUE_URL", self.queue.queue_url)
