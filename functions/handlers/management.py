"""Management API Lambda: meters, customers, customer meters, events listing, billing, webhook endpoints."""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    import json
    from functools import cache
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.auth.service import authenticate_request
    from functions.billing import routes as billing_routes
    from functions.common.http import create_app, resolve
    from functions.common.openapi import ACCESS_TOKEN, build_document
    from functions.common.settings import configure
    from functions.customer_meters import routes as customer_meter_routes
    from functions.customer_sessions import routes as customer_session_routes
    from functions.customers import routes as customer_routes
    from functions.events import routes as event_routes
    from functions.events.ingest_route import register_ingest
    from functions.handlers.environments import ManagementEnvironment
    from functions.meters import routes as meter_routes
    from functions.organizations import routes as organization_routes
    from functions.store import dynamo
    from functions.webhooks import routes as webhook_routes

    logger = Logger()
    metrics = Metrics()
    app = create_app("Meterbill API", {ACCESS_TOKEN: authenticate_request})
    ROUTE_GROUPS = (
        organization_routes.register,
        customer_routes.register,
        meter_routes.register,
        customer_meter_routes.register,
        event_routes.register_listing,
        billing_routes.register,
        customer_session_routes.register,
        webhook_routes.register,
    )
    for register_routes in ROUTE_GROUPS:
        register_routes(app)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi():  # no return annotation: Powertools would try to model Response
        return Response(200, "application/json", api_document())

    configure(ManagementEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


@cache
def api_document() -> str:
    """One document for the whole API: these routes plus the ingest and portal Lambdas' (served by their own
    Lambdas), registered on a resolver that only describes them. Built on the first request for it, so the
    portal's routes and the response models stay out of this Lambda's cold start."""
    from functions.portal import routes as portal_routes
    from functions.portal import selfservice_routes

    described = create_app("Meterbill API")
    for register in ROUTE_GROUPS + (register_ingest, portal_routes.register, selfservice_routes.register):
        register(described)
    return json.dumps(build_document(described), separators=(",", ":"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return resolve(app, event, context)
