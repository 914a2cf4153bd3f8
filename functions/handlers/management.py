"""Management API Lambda: meters, customers, customer meters, events listing, sessions, billing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.http import create_app, normalize_path
from functions.common.runtime import settle_heap
from functions.customer_meters import routes as customer_meter_routes
from functions.customers import routes as customer_routes
from functions.events import routes as event_routes
from functions.meters import routes as meter_routes
from functions.organizations import routes as organization_routes
from functions.store import dynamo

logger = Logger()
metrics = Metrics()
app = create_app("Meterbill API")
organization_routes.register(app)
customer_routes.register(app)
meter_routes.register(app)
customer_meter_routes.register(app)
event_routes.register_listing(app)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Any:
    from aws_lambda_powertools.event_handler import Response

    return Response(200, "application/json", app.get_openapi_json_schema())

settle_heap(dynamo.warm_up)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return app.resolve(normalize_path(event), context)
