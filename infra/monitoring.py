"""Alarms, each notifying one SNS topic: every Lambda's errors and throttles, the API's 5xx answers, and the
depth of every failure queue. Operators subscribe to the topic (its ARN is the stack output AlarmTopicArn)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: dict[str, lambda_.IFunction],
        queues: dict[str, sqs.IQueue],
        http_api: apigw.IHttpApi,
    ) -> None:
        super().__init__(scope, id)
        # TLS only. Not encrypted with a key: alarm notifications carry names and states, no customer data, and
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key (infra/nag.py).
        self.topic = sns.Topic(self, "AlarmTopic", display_name="Meterbill alarms", enforce_ssl=True)
        notify = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(alarm_id: str, metric: cloudwatch.IMetric, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(notify)
            created.add_ok_action(notify)  # and when it is over
            self.alarms.append(created)

        for name, fn in functions.items():
            alarm(f"{name}Errors", fn.metric_errors(period=PERIOD, statistic="Sum"), f"{name} Lambda errors")
            alarm(f"{name}Throttles", fn.metric_throttles(period=PERIOD, statistic="Sum"),
                  f"{name} Lambda throttles")
        # Any 5xx is a bug or an outage: the API answers bad input with 4xx (and is fuzzed for 5xx), and a
        # Lambda error or timeout behind a route shows here as the client saw it.
        alarm("Api5xx", http_api.metric_server_error(period=PERIOD, statistic="Sum"),
              "the HTTP API answered 5xx")
        for name, queue in queues.items():
            alarm(f"{name}Depth", queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                  f"messages waiting in {name}")
