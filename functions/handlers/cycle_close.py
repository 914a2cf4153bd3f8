"""Cycle-close Lambda: on an EventBridge schedule, puts the subscriptions whose period has ended on the close
queue, for the close workers (functions/handlers/close_worker.py; functions/billing/close.py has the whole path),
then sweeps what earlier work left unpublished.

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
    result = close.dispatch(settings(), as_of, context.get_remaining_time_in_millis, event.get("after"))
    if result["continue_after"]:
        invoke_async(context.invoked_function_arn, {**event, "as_of": iso(as_of), "after": result["continue_after"]})
    metrics.add_metric(name="SubscriptionsQueued", unit=MetricUnit.Count, value=result["queued"])
    logger.info("cycle close queued", extra=result)
    return result
