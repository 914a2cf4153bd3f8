"""Portal Lambda: the customer portal (HTML) and Polar's /v1/customer-portal JSON API, self-service included."""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.common.http import create_app, resolve
    from functions.common.settings import configure
    from functions.handlers.environments import PortalEnvironment
    from functions.portal import routes as portal_routes
    from functions.portal import selfservice_routes
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    app = create_app("Meterbill customer portal")
    portal_routes.register(app)
    selfservice_routes.register(app)
    configure(PortalEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return resolve(app, selfservice_routes.form_as_json(event), context)
