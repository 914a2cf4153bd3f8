"""The HTTP resolver every API Lambda uses: validation, one error renderer, paths as Polar writes them."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from functions.common.errors import MeterbillError

logger = Logger()


def create_app(title: str) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.configure_openapi(title=title, version="1.0.0")

    @app.not_found
    def _no_route(exc: Exception) -> Response:
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
