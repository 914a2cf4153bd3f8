"""Webhooks: the delivery Lambda, fed by a queue that a rule on the event bus fills with the events webhooks carry.

EventBridge -> SQS -> Lambda rather than EventBridge -> Lambda: an endpoint that is down for hours needs retries
for a day (functions/webhooks/retries.py), which an SQS message's visibility gives for free and EventBridge's
own retries (24 h, but no control over the delay and no per-endpoint record) would not; and a redelivery asked
through the API is one more message on the same queue.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from functions.adapters.eventbridge import SOURCE
from functions.webhooks.facts import TYPE_OF_DETAIL
from functions.webhooks.retries import MAX_ATTEMPTS
from infra.lambda_function import MeterbillFunction, failure_queue, work_queue
from infra.storage import Storage

# Endpoints and webhook events read; the webhook event created once (a conditional put) and, with its delivery,
# written in one transaction; the payload built from the customer, its meters and state, the invoice.
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem")
TIMEOUT = Duration.seconds(120)  # a batch of BATCH_SIZE messages, each to a few endpoints of 10 s at most
BATCH_SIZE = 5


class Webhooks(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.dead_letters = failure_queue(self, "DeadLetters")  # messages still undelivered after a day
        self.queue = work_queue(self, "Deliveries", function_timeout=TIMEOUT, dead_letters=self.dead_letters,
                                max_receives=MAX_ATTEMPTS)
        self.handler = MeterbillFunction(
            self,
            "WebhookDelivery",
            handler="functions.handlers.webhook_delivery.handler",
            layer=layer,
            environment={"TABLE_NAME": storage.table.table_name, "WEBHOOK_QUEUE_URL": self.queue.queue_url},
            timeout=TIMEOUT,
            memory_size=512,
        )
        self.handler.grant_table(storage.table, TABLE_ACTIONS)
        # Receive, delete and read attributes (the event source mapping, with the function's role) and change a
        # message's visibility (the retry delay, set by the handler).
        self.queue.grant_consume_messages(self.handler.role)
        self.handler.function.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=BATCH_SIZE, report_batch_item_failures=True))
        self.rule = events.Rule(
            self, "WebhookFacts",
            event_bus=storage.bus,
            event_pattern=events.EventPattern(source=[SOURCE], detail_type=sorted(TYPE_OF_DETAIL)),
            targets=[targets.SqsQueue(self.queue)],
        )

    def allow_redelivery(self, fn: MeterbillFunction) -> None:
        """The management API queues a redelivery: SendMessage on this queue (CDK's grant_send_messages adds
        GetQueueAttributes and GetQueueUrl, which the code never calls), and its URL."""
        fn.role.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"],
                                                            resources=[self.queue.queue_arn]))
        fn.function.add_environment("WEBHOOK_QUEUE_URL", self.queue.queue_url)
