"""Cycle close: the Lambda on an EventBridge schedule, one run at a time, with both of its failure queues.

Two queues because the schedule's path has two steps that fail differently. EventBridge hands the event to
Lambda's asynchronous queue: if that hand-over fails (the function missing, a permission), the rule target's
retries and then its dead-letter queue catch it. Once Lambda has accepted the event, a run that raises is
retried by Lambda and then, without an on-failure destination, dropped: the function's own destination
(`failures`) catches those runs, and events that waited longer than an hour (a throttled run: see below).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from functions.store import table_spec
from infra.lambda_function import MeterbillFunction, failure_queue
from infra.names import stack_scoped_name
from infra.storage import Storage

# Subscriptions, customers, meters and aggregates read; the close transaction; the invoice marked published;
# threshold signals re-sent; the meter catch-up backfill (aggregates and meters put, unique-value markers
# written in batches).
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                 "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
INVOICE_OBJECTS = "invoices/*"  # functions/billing/close.py: invoices/{organization}/{invoice}.pdf|json
# A run every 15 minutes redoes whatever an older one left, so an event that waited an hour is not worth
# running any more: it goes to the failure queue instead (and the depth alarm says so).
MAX_EVENT_AGE = Duration.hours(1)


class CycleClose(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.dead_letters = failure_queue(self, "DeadLetters")  # the schedule could not hand the event over
        self.failures = failure_queue(self, "Failures")  # a run failed after Lambda's retries
        self.handler = MeterbillFunction(
            self,
            "CycleClose",
            handler="functions.handlers.cycle_close.handler",
            layer=layer,
            environment={
                "TABLE_NAME": storage.table.table_name,
                "INVOICE_BUCKET": storage.invoice_bucket.bucket_name,
                "EVENT_BUS_NAME": storage.bus.event_bus_name,
                "GRACE_PERIOD_SECONDS": "3600",
            },
            timeout=Duration.minutes(15),
            memory_size=1024,
            # Named after the stack so that its role can name the one function it may invoke: itself.
            function_name=stack_scoped_name(self, "CycleClose"),
            # One run at a time: a run still going when the next schedule fires makes that one wait in
            # Lambda's queue (retried as a throttle) rather than race it. Runs are safe to overlap, but a
            # second one would only contend on the same subscriptions.
            reserved_concurrent_executions=1,
        )
        fn = self.handler.function
        # Reads subscriptions due, invoices not yet published, threshold signals and meters awaiting their
        # catch-up backfill from GSI1.
        self.handler.grant_table(storage.table, TABLE_ACTIONS, indexes=[table_spec.GSI1])
        self.handler.grant_objects(storage.invoice_bucket, ("s3:PutObject",), INVOICE_OBJECTS)
        storage.bus.grant_put_events_to(self.handler.role)  # invoice.created, threshold signals
        self.handler.allow_invoking_itself()  # a run near its time limit hands the rest to a fresh one
        fn.configure_async_invoke(
            retry_attempts=2,
            max_event_age=MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.failures),
        )
        self.schedule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(Duration.minutes(15)),
            targets=[
                targets.LambdaFunction(
                    fn,
                    retry_attempts=3,
                    max_event_age=MAX_EVENT_AGE,
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
