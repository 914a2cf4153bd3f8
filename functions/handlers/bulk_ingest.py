"""Bulk-ingest Lambda: S3 ObjectCreated on the batch bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.runtime import settle_heap
from functions.store import dynamo

logger = Logger()
metrics = Metrics()

settle_heap(dynamo.warm_up)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Not built yet (issue: bulk ingestion). Records what it was handed so nothing is silently dropped.
    keys = [r["s3"]["object"]["key"] for r in event.get("Records", []) if "s3" in r]
    logger.warning("bulk ingestion is not implemented yet", extra={"keys": keys})
    return {"files": keys, "processed": 0}
