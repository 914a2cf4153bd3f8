"""A local HTTP server that speaks API Gateway HTTP API (payload format 2.0) to the real handlers."""

from __future__ import annotations

import base64
import importlib
import json
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from functions.handlers.routes import FUNCTIONS, match
from local_stack.lambda_context import LocalContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_handler(dotted: str) -> Handler:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def api_gateway_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, route_key: str) -> dict:
    parts = urlsplit(raw_path)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        # API Gateway joins repeated query parameters with commas.
        query[key] = f"{query[key]},{value}" if key in query else value
    text_types = ("json", "text", "x-www-form-urlencoded", "xml")
    content_type = headers.get("content-type", "")
    is_text = not body or any(t in content_type for t in text_types)
    if is_text and body:
        try:
            body.decode()
        except UnicodeDecodeError:
            is_text = False  # API Gateway base64-encodes what is not valid text
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "cookies": [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()] or None,
        "headers": headers,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


class Gateway:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handlers = {name: load_handler(dotted) for name, dotted in FUNCTIONS.items()}
        gateway = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: handlers log themselves
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers.setdefault("x-forwarded-proto", "http")  # API Gateway sets it; here the scheme is http
                status, out_headers, out_body = gateway.invoke(self.command, self.path, headers, body)
                self.send_response(status)
                for key, value in out_headers:
                    self.send_header(key, value)
                self.send_header("content-length", str(len(out_body)))
                self.end_headers()
                self.wfile.write(out_body)

            def __getattr__(self, name: str) -> Any:
                # Any method reaches the routes, as with API Gateway (an unknown one then finds no route).
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), RequestHandler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple:
        route = match(method, urlsplit(raw_path).path)
        if route is None:
            payload = json.dumps({"message": "Not Found"}).encode()
            return 404, [("content-type", "application/json")], payload
        route_key = f"{route.method if route.method != 'ANY' else 'ANY'} {route.path}"
        event = api_gateway_event(method, raw_path, headers, body, route_key)
        result = self.handlers[route.function](event, LocalContext(function_name=f"meterbill-{route.function}"))
        out_headers = list((result.get("headers") or {}).items())
        for cookie in result.get("cookies") or []:
            out_headers.append(("set-cookie", cookie))
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        return int(result.get("statusCode", 200)), out_headers, payload

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
