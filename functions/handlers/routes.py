"""Which Lambda serves which HTTP route. The CDK API construct and the local gateway both read this table.

Matching follows API Gateway HTTP APIs: an exact route beats a greedy `{proxy+}` route, and among greedy
routes the longest prefix wins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str  # "ANY" or an HTTP method
    path: str  # exact, or ending in "/{proxy+}"
    function: str  # a key of FUNCTIONS


FUNCTIONS = {
    "ingest": "functions.handlers.ingest.handler",
    "management": "functions.handlers.management.handler",
    "portal": "functions.handlers.portal.handler",
}

ROUTES = (
    Route("POST", "/v1/events/ingest", "ingest"),
    Route("ANY", "/v1/customer-portal/{proxy+}", "portal"),
    Route("ANY", "/portal", "portal"),
    Route("ANY", "/portal/{proxy+}", "portal"),
    Route("ANY", "/v1/{proxy+}", "management"),
    Route("GET", "/openapi.json", "management"),
)


def match(method: str, path: str, routes: tuple[Route, ...] | list[Route] = ROUTES) -> Route | None:
    candidates = [r for r in routes if r.method in ("ANY", method)]
    for route in candidates:
        if not route.path.endswith("{proxy+}") and route.path.rstrip("/") == path.rstrip("/"):
            return route
    greedy = [
        r for r in candidates if r.path.endswith("{proxy+}") and path.startswith(r.path[: -len("{proxy+}")])
    ]
    return max(greedy, key=lambda r: len(r.path), default=None)
