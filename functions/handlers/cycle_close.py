"""Cycle-close Lambda: on an EventBridge schedule, closes the billing periods that have ended.

The event may carry `as_of` (ISO 8601) to close as of another time: `meterbill close-cycles --as-of`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import close
from functions.common.clock import parse_iso, utcnow
from functions.common.runtime import settle_heap
from functions.common.settings import settings
from functions.store import dynamo

logger = Logger()
metrics = Metrics()
settle_heap(dynamo.warm_up)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    as_of = parse_iso(event["as_of"]) if event.get("as_of") else utcnow()
    result = close.run(settings(), as_of)
    metrics.add_metric(name="InvoicesClosed", unit=MetricUnit.Count, value=result["closed"])
    metrics.add_metric(name="CloseFailures", unit=MetricUnit.Count, value=result["failed"])
    logger.info("cycle close finished", extra=result)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} subscription(s) failed to close")  # retried, then the DLQ
    return result
