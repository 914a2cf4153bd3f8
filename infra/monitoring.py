"""Alarms: every Lambda's errors and throttles, and the depth of every dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class Monitoring(Construct):
    def __init__(
        self, scope: Construct, id: str, *, functions: dict[str, lambda_.IFunction], queues: dict[str, sqs.IQueue]
    ) -> None:
        super().__init__(scope, id)
        for name, fn in functions.items():
            for metric_name, metric in (("Errors", fn.metric_errors()), ("Throttles", fn.metric_throttles())):
                cloudwatch.Alarm(
                    self,
                    f"{name}{metric_name}",
                    metric=metric.with_(period=Duration.minutes(5), statistic="Sum"),
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"{name} Lambda {metric_name.lower()}",
                )
        for name, queue in queues.items():
            cloudwatch.Alarm(
                self,
                f"{name}Depth",
                metric=queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"messages waiting in {name}",
            )
