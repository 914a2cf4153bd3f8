"""Ingest Lambda: POST /v1/events/ingest."""

from __future__ import annotations

from functions.common.runtime import collector_paused, init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.auth.service import authenticate_request
    from functions.common.http import create_app, resolve
    from functions.common.openapi import ACCESS_TOKEN
    from functions.common.settings import configure
    from functions.events.ingest_route import register_ingest
    from functions.handlers.environments import IngestEnvironment
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    app = create_app("Meterbill ingest", {ACCESS_TOKEN: authenticate_request}, raw_json=True)
    register_ingest(app)
    configure(IngestEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    with collector_paused():
        return resolve(app, event, context)
