"""Bulk-ingest Lambda: S3 ObjectCreated on the batch bucket (`incoming/{organization_id}/...`)."""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    from typing import Any
    from urllib.parse import unquote_plus

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.adapters.lambda_invoke import invoke_async
    from functions.bulk import service
    from functions.common.settings import configure
    from functions.handlers.environments import BulkIngestEnvironment
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    configure(BulkIngestEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = []
    for record in event.get("Records", []):
        obj = record["s3"]["object"]
        version = obj.get("versionId") or obj.get("eTag") or "null"
        result = service.process(record["s3"]["bucket"]["name"], unquote_plus(obj["key"]), version,
                                 int(obj.get("size", 0)), context.get_remaining_time_in_millis,
                                 owner=context.aws_request_id, etag=obj.get("eTag"))
        logger.info("batch file", extra=result)
        metrics.add_metric(name="BulkLinesInserted", unit=MetricUnit.Count, value=result.get("inserted", 0))
        results.append(result)
    if any(r["status"] == "incomplete" for r in results):
        # Out of time: a fresh invocation of this function continues from the checkpoint.
        invoke_async(context.invoked_function_arn, event)
    return {"files": results}
