"""Management API Lambda: meters, customers, customer meters, events listing, billing, webhook endpoints."""

from __future__ import annotations

from functions.common.runtime import init_phase

with init_phase():  # imports and setup: the collector off, the result frozen (functions/common/runtime.py)
    import importlib
    import json
    from functools import cache
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.auth.service import authenticate_request
    from functions.common.http import Resolver, create_app, resolve
    from functions.common.openapi import ACCESS_TOKEN, build_document
    from functions.common.settings import configure
    from functions.handlers.environments import ManagementEnvironment
    from functions.store import dynamo

    logger = Logger()
    metrics = Metrics()
    app = create_app("Meterbill API", {ACCESS_TOKEN: authenticate_request})

    @app.get("/openapi.json", include_in_schema=False)
    def openapi():  # no return annotation: Powertools would try to model Response
        return Response(200, "application/json", api_document())

    configure(ManagementEnvironment)  # a variable missing from the environment fails the cold start here
    dynamo.warm_up()


# Each feature's routes, by the first segment of the paths it serves under /v1/ (tests/infra/test_route_groups.py
# checks the table against what each module registers). A group is imported and registered on the first request
# for one of its paths: a cold start loads the feature its request is for, not all eight.
ROUTE_GROUPS: dict[str, tuple[str, str]] = {
    "organizations": ("functions.organizations.routes", "register"),
    "audit-log": ("functions.organizations.routes", "register"),
    "customers": ("functions.customers.routes", "register"),
    "meters": ("functions.meters.routes", "register"),
    "customer-meters": ("functions.customer_meters.routes", "register"),
    "events": ("functions.events.routes", "register_listing"),
    "event-types": ("functions.events.routes", "register_listing"),
    **{segment: ("functions.billing.routes", "register")
       for segment in ("products", "subscriptions", "discounts", "tax-rates", "orders", "invoices")},
    "customer-sessions": ("functions.customer_sessions.routes", "register"),
    "webhooks": ("functions.webhooks.routes", "register"),
}
_registered: set[tuple[str, str]] = set()


def register_group(resolver: Resolver, group: tuple[str, str]) -> None:
    module, function = group
    getattr(importlib.import_module(module), function)(resolver)


def _routes_for(path: str) -> None:
    """Registers the group serving `path` unless it is already (a path no group serves is a 404, or the 501 of
    a Polar group Meterbill does not serve, as before)."""
    parts = path.split("/")
    group = ROUTE_GROUPS.get(parts[2]) if len(parts) > 2 and parts[1] == "v1" else None
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
