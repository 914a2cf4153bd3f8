"""Webhook delivery Lambda: reads the delivery queue (SQS), which receives Meterbill's events from the bus and the
API's redeliveries; POSTs each to the organization's endpoints, signed.

A message whose endpoints did not all answer 2xx is reported back as a batch item failure, after its next
visibility is set to the retry delay (functions/webhooks/retries.py): SQS hands it over again then, and moves it
to the dead-letter queue after the last attempt. An endpoint that succeeded is not sent the event again.
"""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    import json
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.adapters import sqs
    from functions.common.settings import configure, settings
    from functions.handlers.environments import WebhookDeliveryEnvironment
    from functions.store import dynamo
    from functions.webhooks import delivery, retries

    logger = Logger()
    metrics = Metrics()
    configure(WebhookDeliveryEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        try:
            delivered = delivery.handle_message(json.loads(record["body"]))
        except Exception:
            logger.exception("webhook delivery failed", extra={"message_id": record["messageId"]})
            delivered = False
        if not delivered:
            attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            sqs.delay(settings().webhook_queue_url, record["receiptHandle"], retries.delay_after(attempts))
            failures.append({"itemIdentifier": record["messageId"]})
    metrics.add_metric(name="WebhookMessagesRetried", unit=MetricUnit.Count, value=len(failures))
    return {"batchItemFailures": failures}
