"""How a route describes itself, and the one OpenAPI document built from every Lambda's routes.

`@app.post("/v1/meters", **describe("meters.Meter", status=201, scope="meters:write", body=True, write=True))`
puts on the route its success status and model, the errors it can answer (401, 403, 404, 409, 415, 422,
429, 400 as they apply, each with its error model) and its security requirement. The security requirement is
more than documentation: the resolver authenticates with it before validating the request
(functions/common/http.py).

Models are named as "<feature>.<Model>" (a response model of functions/<feature>/schemas.py) and resolved
only when the document is built (functions/common/schemas.py says why), so describing a route costs a
Lambda nothing at cold start or per request.
"""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

ACCESS_TOKEN = "access_token"  # an organization access token (Bearer)
CUSTOMER_SESSION = "customer_session"  # a customer session token (Bearer, or the portal's cookie)

JSON = "application/json"
# The OpenAPI extension that marks a route taking `metadata[key]=value` query parameters.
METADATA_FILTER = "x-metadata-filter"
MODEL_KEY = "x-meterbill-model"  # placeholder in a route's responses, replaced by a $ref in the document
PAGE_KEY = "x-meterbill-page"

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("The body is not UTF-8 text.", "common.Error"),
    401: ("Missing, unknown or expired token.", "common.Error"),
    403: ("The token lacks the scope this route needs.", "common.Error"),
    404: ("Not found (or another organization's).", "common.Error"),
    409: ("A uniqueness rule was broken, or concurrent writers kept moving what this request read (send it "
          "again after Retry-After).", "common.Error"),
    415: ("The body is not JSON.", "common.Error"),
    422: ("Validation failed: one entry per bad field.", "common.RequestValidationError"),
    429: ("Throttled: send it again after Retry-After.", "common.Error"),
}


def _schema(model: str, page: bool = False) -> dict[str, Any]:
    return {"schema": {MODEL_KEY: model, **({PAGE_KEY: True} if page else {})}}


def describe(model: str | None = None, *, page: bool = False, status: int = 200, scope: str | None = None,
             customer: bool = False, body: bool = False, write: bool = False,
             content: dict[str, Any] | None = None, description: str = "Successful Response",
             metadata_filter: bool = False) -> dict[str, Any]:
    """Keyword arguments for a route decorator.

    model: the success body ("meters.Meter"); page: the body is a page of them (`ListResource[Meter]`).
    content: the success content for another media type (a PDF), or {} for a body-less 204.
    scope: the organization token scope the route requires; customer: a customer session instead.
    body: the route reads a JSON body (400 and 415 apply); write: it writes (409 applies).
    metadata_filter: the route filters on `metadata[key]=value` query parameters (Polar's deepObject), which
    are not in its signature; any other query parameter it does not declare is a 422 (functions/common/http.py).
    """
    success: dict[str, Any] = {"description": description}
    if content is not None:
        success["content"] = content
    elif model is not None:
        success["content"] = {JSON: _schema(model, page)}
    codes = {401, 404, 422, 429}
    if scope is not None:
        codes.add(403)
    if body:
        codes |= {400, 415}
    if write:
        codes.add(409)
    responses: dict[int, Any] = {status: success}
    for code in sorted(codes):
        text, error_model = _ERRORS[code]
        responses[code] = {"description": text, "content": {JSON: _schema(error_model)}}
    kwargs: dict[str, Any] = {"responses": responses}
    if metadata_filter:
        kwargs["openapi_extensions"] = {METADATA_FILTER: True}
    if scope is not None:
        kwargs["security"] = [{ACCESS_TOKEN: [scope]}]
    elif customer:
        kwargs["security"] = [{CUSTOMER_SESSION: []}]
    return kwargs


def scope_of(security: list[dict[str, list[str]]] | None) -> str | None:
    for requirement in security or []:
        for scope in requirement.get(ACCESS_TOKEN, []):
            return scope
    return None


def model(name: str) -> Any:
    """"meters.Meter" -> the response model Meter of functions/meters/schemas.py."""
    feature, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(f"functions.{feature}.schemas"), attr)


SECURITY_SCHEMES = {
    ACCESS_TOKEN: {"type": "http", "scheme": "bearer",
                   "description": "An organization access token, with the scopes the route lists."},
    CUSTOMER_SESSION: {"type": "http", "scheme": "bearer",
                       "description": "A customer session token (POST /v1/customer-sessions/); the portal also "
                                      "accepts it as its session cookie."},
}


def build_document(resolver: Any) -> dict[str, Any]:
    """The OpenAPI document of a resolver that has every Lambda's routes: Powertools' document, with each model
    placeholder replaced by a reference to the model's JSON schema (serialization mode, as sent)."""
    from pydantic.json_schema import models_json_schema

    document: dict[str, Any] = json.loads(resolver.get_openapi_json_schema(security_schemes=SECURITY_SCHEMES))
    placeholders: list[dict[str, Any]] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if MODEL_KEY in node:
                placeholders.append(node)
                return
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document.get("paths", {}))
    wanted: dict[tuple[str, bool], Any] = {}
    for node in placeholders:
        key = (node[MODEL_KEY], bool(node.get(PAGE_KEY)))
        if key not in wanted:
            found = model(key[0])
            wanted[key] = model("common.ListResource")[found] if key[1] else found
    refs, definitions = models_json_schema([(m, "serialization") for m in wanted.values()],
                                           ref_template="#/components/schemas/{model}")
    for node in placeholders:
        target = wanted[(node[MODEL_KEY], bool(node.get(PAGE_KEY)))]
        node.clear()
        node.update(copy.deepcopy(refs[(target, "serialization")]))
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        if name in schemas:  # a model both read and sent (Filter, Threshold): one schema, or a clash
            if _without_nulls(schemas[name]) != _without_nulls(schema):
                raise ValueError(f"two different schemas named {name} (a request and a response model)")
            continue
        schemas[name] = schema
    # Powertools' own 422 body is not what this API answers (common.RequestValidationError is).
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if unused in schemas and f'"#/components/schemas/{unused}"' not in json.dumps(document["paths"]):
            del schemas[unused]
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if status == "204":
                    response.pop("content", None)
    return document


def _without_nulls(node: Any) -> Any:
    """Powertools writes its schemas without null values (`"default": null` dropped)."""
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(v) for v in node]
    return node
