"""Cycle close: the Lambda on an EventBridge schedule (one run at a time, with both of its failure queues), the
close queue it fills with the subscriptions due, and the close workers that read it (functions/billing/close.py).

Fanned out on SQS so that a close of 100,000 due subscriptions fits Lambda's limits: the scheduled run only
reads the due index and sends, 10 to a SendMessageBatch (and hands over to a fresh invocation near its time
limit); the workers close 10 subscriptions an invocation, up to WORKER_CONCURRENCY at once, each failure
retried alone by SQS and kept on a dead-letter queue after the last attempt. The number of workers is capped so
that the close does not take the table's whole write capacity from ingest.

Two failure queues for the scheduled run because the schedule's path has two steps that fail differently.
EventBridge hands the event to Lambda's asynchronous queue: if that hand-over fails (the function missing, a
permission), the rule target's retries and then its dead-letter queue catch it. Once Lambda has accepted the
event, a run that raises is retried by Lambda and then, without an on-failure destination, dropped: the
function's own destination (`failures`) catches those runs, and events that waited longer than an hour (a
throttled run: see below).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from functions.store import table_spec
from infra.invoice_publishing import InvoicePublishing
from infra.lambda_function import MeterbillFunction, failure_queue, work_queue
from infra.names import stack_scoped_name
from infra.storage import Storage

# The scheduled run: the due index and the unpublished invoices read; announcements marked published (in
# batches); threshold signals re-sent; the meter catch-up backfill (aggregates and meters put, unique-value markers
# written in batches).
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                 "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
# The workers: subscriptions, customers, products, tax rates, meters and aggregates read; the close transaction
# (its puts and updates); the renewals' announcements marked published in batches.
WORKER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                        "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
# 10 subscriptions, a long-overdue one closing up to 120 periods. Short, because a failure holds back its
# organization's later closes for the visibility timeout (six times this) until it is retried.
WORKER_TIMEOUT = Duration.minutes(2)
WORKER_BATCH = 10
WORKER_CONCURRENCY = 10  # batches at once (the event source's maximum concurrency)
MAX_RECEIVES = 3  # then the dead-letter queue; the subscription stays due and the next run queues it again
# A run every 15 minutes redoes whatever an older one left, so an event that waited an hour is not worth
# running any more: it goes to the failure queue instead (and the depth alarm says so).
MAX_EVENT_AGE = Duration.hours(1)
GRACE_PERIOD_SECONDS = "3600"  # how long after a period's end it closes (late events still count in it)


class CycleClose(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion,
                 publishing: InvoicePublishing) -> None:
        super().__init__(scope, id)
        self.dead_letters = failure_queue(self, "DeadLetters")  # the schedule could not hand the event over
        self.failures = failure_queue(self, "Failures")  # a run failed after Lambda's retries
        # A subscription that failed every attempt (FIFO, as the dead-letter queue of a FIFO queue must be).
        self.close_dead_letters = failure_queue(self, "CloseDeadLetters", fifo=True)
        # One message group per organization (functions/billing/close.py, DueClose.fifo_ids): its closes run one
        # at a time instead of contending for its invoice counter; organizations in parallel.
        self.queue = work_queue(self, "Due", function_timeout=WORKER_TIMEOUT, dead_letters=self.close_dead_letters,
                                max_receives=MAX_RECEIVES, fifo=True)
        self.handler = MeterbillFunction(
            self,
            "CycleClose",
            handler="functions.handlers.cycle_close.handler",
            layer=layer,
            environment={
                "TABLE_NAME": storage.table.table_name,
                "EVENT_BUS_NAME": storage.bus.event_bus_name,
                "CLOSE_QUEUE_URL": self.queue.queue_url,
                "GRACE_PERIOD_SECONDS": GRACE_PERIOD_SECONDS,
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
        storage.bus.grant_put_events_to(self.handler.role)  # the sweeps: announcements, threshold signals
        publishing.allow_queueing(self.handler)  # invoices left unpublished, queued again
        self.handler.role.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"],
                                                                      resources=[self.queue.queue_arn]))
        self.handler.allow_invoking_itself()  # a run near its time limit hands the rest to a fresh one
        fn.configure_async_invoke(
            retry_attempts=2,
            max_event_age=MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.failures),
        )
        self.worker = MeterbillFunction(
            self,
            "CloseWorker",
            handler="functions.handlers.close_worker.handler",
            layer=layer,
            environment={
                "TABLE_NAME": storage.table.table_name,
                "EVENT_BUS_NAME": storage.bus.event_bus_name,
                "GRACE_PERIOD_SECONDS": GRACE_PERIOD_SECONDS,
            },
            timeout=WORKER_TIMEOUT,
            memory_size=1024,
        )
        self.worker.grant_table(storage.table, WORKER_TABLE_ACTIONS)
        storage.bus.grant_put_events_to(self.worker.role)  # the renewals' announcements
        publishing.allow_queueing(self.worker)  # its invoices, for the publisher (infra/invoice_publishing.py)
        # The event source grants the role what its poller does with the queue (CDK's grant_consume_messages).
        self.worker.function.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=WORKER_BATCH, report_batch_item_failures=True,
            max_concurrency=WORKER_CONCURRENCY))
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
