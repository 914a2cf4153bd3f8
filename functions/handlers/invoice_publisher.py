"""Invoice publisher Lambda: reads the publish queue (SQS), which the cycle close fills with the invoices it
writes; renders each invoice's PDF and JSON to S3 and announces `invoice.created` (and `invoice.paid` for one
with nothing due), then takes it off the unpublished index.

An invoice already published (a message delivered twice, or queued again by the close's sweep) is not published
again. A record that fails is reported as a batch item failure: SQS hands it over again after its visibility
timeout, and moves it to the dead-letter queue after the last attempt (the invoice stays unpublished, and the
next cycle-close run queues it again).
"""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    import json
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.billing.invoices import publish_queued
    from functions.common.settings import configure, settings
    from functions.handlers.environments import InvoicePublisherEnvironment
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    configure(InvoicePublisherEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = []
    published = 0
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
            if publish_queued(settings(), body["organization_id"], body["invoice_id"]):
                published += 1
            else:
                logger.warning("queued invoice not found", extra={"message": body})
        except Exception:
            logger.exception("invoice publishing failed", extra={"message_id": record["messageId"]})
            failures.append({"itemIdentifier": record["messageId"]})
    metrics.add_metric(name="InvoicesPublished", unit=MetricUnit.Count, value=published)
    metrics.add_metric(name="InvoicePublishFailures", unit=MetricUnit.Count, value=len(failures))
    return {"batchItemFailures": failures}
