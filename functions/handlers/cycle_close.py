"""Cycle-close Lambda: on an EventBridge schedule, closes the billing periods that have ended.

The event may carry `as_of` (ISO 8601) to close as of another time: `meterbill close-cycles --as-of`. A run that
has used most of its time hands the rest to a fresh asynchronous invocation of itself, with the same `as_of` and
`after` (the position in the due index it reached).
"""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.adapters.lambda_invoke import invoke_async
    from functions.billing import close
    from functions.common.clock import iso, parse_iso, utcnow
    from functions.common.settings import configure, settings
    from functions.handlers.environments import CycleCloseEnvironment
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    configure(CycleCloseEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    as_of = parse_iso(event["as_of"]) if event.get("as_of") else utcnow()
    result = close.run(settings(), as_of, context.get_remaining_time_in_millis, event.get("after"))
    if result["continue_after"]:
        invoke_async(context.invoked_function_arn, {**event, "as_of": iso(as_of), "after": result["continue_after"]})
    metrics.add_metric(name="InvoicesClosed", unit=MetricUnit.Count, value=result["closed"])
    metrics.add_metric(name="CloseFailures", unit=MetricUnit.Count, value=result["failed"])
    logger.info("cycle close finished", extra=result)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} subscription(s) failed to close")  # retried, then the DLQ
    return result
