"""Close worker Lambda: reads the close queue (SQS), which the scheduled cycle close fills with the subscriptions
due; closes each (functions/billing/close.py, `close_batch`), queues the invoices for the invoice publisher and
publishes the renewals' announcements.

A subscription that fails is reported as a batch item failure together with every message after it (the
queue is FIFO: what follows a failure must not be taken before it): SQS hands them over again after the
visibility timeout, and moves the failing one to the dead-letter queue after the last attempt. A message
delivered twice closes nothing twice (the close is guarded by the period it read).
"""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    import json
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.billing.close import DueClose, close_batch
    from functions.common.settings import configure, settings
    from functions.handlers.environments import CloseWorkerEnvironment
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    configure(CloseWorkerEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ids = [record["messageId"] for record in event.get("Records", [])]
    batch = []
    for record in event.get("Records", []):
        try:
            batch.append(DueClose.from_message(json.loads(record["body"])))
        except (ValueError, KeyError, TypeError):
            # Not a message the cycle close writes: retrying cannot mend it; the dead-letter queue keeps it. It and
            # what follows are handed back, as a failed close is.
            logger.exception("unreadable close message", extra={"message_id": record.get("messageId")})
            break
    outcome = close_batch(settings(), batch)
    handed_back = outcome.failed + list(range(len(batch), len(ids)))
    failures = [{"itemIdentifier": ids[i]} for i in handed_back]
    metrics.add_metric(name="InvoicesClosed", unit=MetricUnit.Count, value=outcome.closed)
    metrics.add_metric(name="CloseFailures", unit=MetricUnit.Count, value=len(outcome.failed))
    logger.info("closes finished", extra={"closed": outcome.closed, "skipped": outcome.skipped,
                                          "failed": len(outcome.failed)})
    return {"batchItemFailures": failures}
