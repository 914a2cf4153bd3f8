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
    from functions.common.http import create_app, resolve
    from functions.common.openapi import ACCESS_TOKEN, build_document
    from functions.common.settings import configure
    from functions.handlers.environments import ManagementEnvironment
    from functions.handlers.route_groups import ROUTE_GROUPS, RouteGroup, group_for, register_group
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    app = create_app("Meterbill API", {ACCESS_TOKEN: authenticate_request})

    @app.get("/openapi.json", include_in_schema=False)
    def openapi():  # no return annotation: Powertools would try to model Response
        return Response(200, "application/json", api_document())

    configure(ManagementEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


_registered: set[RouteGroup] = set()


def _routes_for(path: str) -> None:
    """Registers the group serving `path` unless it is already (a path no group serves is a 404, or the 501 of
    a Polar group Meterbill does not serve, as before)."""
    group = group_for(path)
    if group is not None and group not in _registered:
        register_group(app, group)
        _registered.add(group)


@cache
def api_document() -> str:
    """One document for the whole API: every group's routes plus the ingest and portal Lambdas' (served by their
    own Lambdas), registered on a resolver that only describes them. Built on the first request for it, so the
    groups, the portal's routes and the response models stay out of this Lambda's cold start."""
    from functions.events.ingest_route import register_ingest
    from functions.portal import routes as portal_routes
    from functions.portal import selfservice_routes

    described = create_app("Meterbill API")
    for group in dict.fromkeys(ROUTE_GROUPS.values()):
        register_group(described, group)
    for register in (register_ingest, portal_routes.register, selfservice_routes.register):
        register(described)
    return json.dumps(build_document(described), separators=(",", ":"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    _routes_for(event.get("rawPath", ""))
    return resolve(app, event, context)
