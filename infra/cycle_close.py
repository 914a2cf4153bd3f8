"""Cycle close: the Lambda on an EventBridge schedule, with retries and a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.lambda_function import TABLE_READ, TABLE_WRITE, MeterbillFunction, failure_queue
from infra.storage import Storage


class CycleClose(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.dead_letters = failure_queue(self, "DeadLetters")
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
        )
        fn = self.handler.function
        self.handler.grant_table(storage.table, TABLE_READ + TABLE_WRITE)
        storage.invoice_bucket.grant_put(fn)
        storage.bus.grant_put_events_to(fn)
        self.schedule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(Duration.minutes(15)),
            targets=[
                targets.LambdaFunction(
                    fn,
                    retry_attempts=3,
                    max_event_age=Duration.hours(1),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
