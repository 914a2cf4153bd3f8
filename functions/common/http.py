"""The HTTP resolver every API Lambda uses: validation, one error renderer, paths as Polar writes them.

Before a route's body, query or path is validated, its caller is authenticated (a bad token is a 401 or 403,
never a 422 that describes the body to a stranger); path parameters are percent-decoded after the route is
matched (so `%2F` stays inside its segment); a method the path does not have is a 405 with `Allow`; a JSON
body nested deeper than the parser's recursion limit is a 422 like any other invalid JSON; and an API route
(one that authenticates) refuses a query parameter it does not implement with a 422 that names it, instead of
answering as if it had not been sent (a filter a Polar program passes and Meterbill ignored would be a 200
with the wrong rows).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel, ValidatorFunctionWrapHandler, WrapValidator

from functions.common.errors import MeterbillError
from functions.common.not_served import not_served_group
from functions.common.openapi import METADATA_FILTER

logger = Logger()

# An authenticator takes the request's headers and cookies and the scopes its route declares, and returns the
# principal (raising Unauthorized or Forbidden). The handlers pass theirs by security scheme name.
Authenticator = Callable[[Any, list[str]], Any]

PRINCIPAL = "principal"  # the key of the authenticated principal in the resolver's context


def _json_loads(text: str) -> Any:
    """json.loads, with a body nested past the recursion limit reported as invalid JSON (a 422) instead of
    a RecursionError (a 500). Costs nothing on the way through."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", text, 0) from None


class RawJson(str):
    """A JSON body as received, handed to validation unparsed (`create_app(raw_json=True)`), so that a route
    whose body type is `parsed_by_pydantic` has pydantic parse and validate it in one pass: no tree of parsed
    values built first, walked, and copied (for a 1,000-event ingest, about 1 us an event, measured)."""


def parsed_by_pydantic(model: type[BaseModel]) -> WrapValidator:
    """For `Annotated[Model, parsed_by_pydantic(Model), Body()]`: a raw body is validated as JSON, anything
    else as usual. Validation errors are located as for a parsed body; invalid JSON is a json_invalid 422."""

    def validate(data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, RawJson):
            return model.model_validate_json(data)
        return handler(data)

    return WrapValidator(validate)


def _raw_json(text: str) -> Any:
    return RawJson(text)


class Resolver(APIGatewayHttpResolver):
    """APIGatewayHttpResolver with decoded path parameters and authentication before validation."""

    def __init__(self, authenticators: Mapping[str, Authenticator] | None = None, raw_json: bool = False) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=_raw_json if raw_json else _json_loads)
        self.authenticators = dict(authenticators or {})
        validate: Any = self._request_validation_middleware

        def authenticate_then_validate(app: Resolver, next_middleware: Callable[..., Any]) -> Any:
            route = app.context.get("_route")
            for requirement in (route.security or []) if route is not None else []:
                for scheme, scopes in requirement.items():
                    authenticator = app.authenticators.get(scheme)
                    if authenticator is not None:
                        app.context[PRINCIPAL] = authenticator(app.current_event, scopes)
            if route is not None and route.security:  # an API route (the portal's pages and the 404 have none)
                refuse_unknown_query_parameters(route, app.current_event.query_string_parameters,
                                                app.context.get(PRINCIPAL))
            return validate(app, next_middleware)

        self._request_validation_middleware = authenticate_then_validate  # type: ignore[assignment]

    def _convert_matches_into_route_keys(self, match: Match) -> dict[str, str]:
        # Matched on the raw path, then decoded: `/v1/customers/external/a%40b` is the customer `a@b`.
        return {key: unquote(value) if "%" in value else value for key, value in match.groupdict().items()}

    def allowed_methods(self, path: str) -> list[str]:
        """The methods that have a route for this path (for a 405's Allow header)."""
        return sorted({r.method for r in self._static_routes + self._dynamic_routes if r.rule.match(path)})


def refuse_unknown_query_parameters(route: Any, query: Mapping[str, str] | None, principal: Any) -> None:
    """A 422 naming each query parameter the route does not declare. Two are understood without a declaration:
    `metadata[key]` on a route that filters on metadata, and Polar's `organization_id` when it names the access
    token's own organization (a token reads one organization; naming another is refused, not answered empty)."""
    if not query:
        return
    declared = {field.alias for field in route.dependant.query_params}
    takes_metadata = bool((route.openapi_extensions or {}).get(METADATA_FILTER))
    own_organization = getattr(principal, "organization_id", None)
    errors = []
    for name, value in query.items():
        if name in declared or (takes_metadata and name.startswith("metadata[")):
            continue
        if name == "organization_id" and own_organization is not None:
            if own_organization not in value.split(","):
                errors.append({"loc": ("query", name), "msg": "must be the access token's organization",
                               "type": "value_error"})
            continue
        errors.append({"loc": ("query", name), "msg": "Meterbill does not implement this query parameter here",
                       "type": "extra_forbidden"})
    if errors:
        raise RequestValidationError(errors)


def create_app(title: str, authenticators: Mapping[str, Authenticator] | None = None, raw_json: bool = False
               ) -> Resolver:
    """raw_json: bodies reach validation as `RawJson`, for an app whose every body route is `parsed_by_pydantic`
    (the ingest's)."""
    app = Resolver(authenticators, raw_json)
    app.configure_openapi(title=title, version="1.0.0")

    @app.not_found
    def _no_route(exc: Exception) -> Response:
        path = app.context.get("_path") or app.current_event.path
        group = not_served_group(path)
        if group is not None:
            return json_response(501, {"error": "NotServed", "detail": f"Meterbill does not serve Polar's {group} API"})
        allowed = app.allowed_methods(path)
        if allowed:
            return json_response(405, {"error": "MethodNotAllowed", "detail": "method not allowed"},
                                 {"Allow": ", ".join(allowed)})
        return json_response(404, {"error": "ResourceNotFound", "detail": "no such route"})

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(exc: RequestUnsupportedContentType) -> Response:
        return json_response(415, {"error": "UnsupportedMediaType", "detail": "send the body as application/json"})

    @app.exception_handler(MeterbillError)
    def _domain_error(exc: MeterbillError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return json_response(exc.status, exc.body(), headers)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response:
        detail = [
            {"loc": list(err["loc"]), "msg": err["msg"].removeprefix("Value error, "), "type": err["type"]}
            for err in exc.errors()
        ]
        return json_response(422, {"error": "RequestValidationError", "detail": detail})

    @app.exception_handler(Exception)
    def _fault(exc: Exception) -> Response:
        # A real fault: logged with the correlation id, never shown to the caller.
        logger.exception("unhandled fault")
        request_id = app.current_event.request_context.request_id
        return json_response(500, {"error": "InternalError", "detail": "internal error", "request_id": request_id})

    return app


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, default=str, separators=(",", ":")),
        headers=headers,
    )


def resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Every API Lambda's entry: bodies must be JSON (anything else is a 415 before any parsing), and paths
    are accepted with or without Polar's trailing slash."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    if event.get("body") and content_type and "json" not in content_type.lower():
        return _early(415, "UnsupportedMediaType", "send the body as application/json")
    if event.get("body") and event.get("isBase64Encoded"):
        try:
            base64.b64decode(event["body"]).decode()
        except (ValueError, UnicodeDecodeError):
            return _early(400, "BadRequest", "the body is not UTF-8 text")
    return app.resolve(normalize_path(event), context)  # type: ignore[no-any-return]


def _early(status: int, error: str, detail: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "isBase64Encoded": False,
            "body": json.dumps({"error": error, "detail": detail})}


def normalize_path(event: dict[str, Any]) -> dict[str, Any]:
    """Polar's collection paths end in '/'; routes are registered without it, so accept both."""
    path = event.get("rawPath", "")
    if len(path) > 1 and path.endswith("/"):
        event["rawPath"] = path.rstrip("/")
        http = event.get("requestContext", {}).get("http", {})
        if "path" in http:
            http["path"] = http["path"].rstrip("/")
    return event


def bearer_token(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization")
    if not value or not value.lower().startswith("bearer "):
        return None
    token = value[7:].strip()
    return token or None


def public_base_url(event: Any) -> str:
    """The API's own base URL, as the caller reached it (API Gateway's domain, or the local gateway)."""
    headers = event.headers or {}
    scheme = headers.get("x-forwarded-proto", "https")
    host = event.request_context.domain_name or headers.get("host", "")
    return f"{scheme}://{host}"
