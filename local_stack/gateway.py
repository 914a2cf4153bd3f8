"""A local HTTP server that speaks API Gateway HTTP API (payload format 2.0) to the real handlers."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from functions.handlers.routes import Route, match
from local_stack.runtime import LambdaRuntime, Throttled


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


# API Gateway's and Lambda's payload limits: the local stack refuses what they would.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024


def _json(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("content-type", "application/json")], json.dumps({"message": message}).encode()


class Gateway:
    """API Gateway (HTTP API, payload 2.0) in front of the local Lambda runtime, with the template's routes."""

    def __init__(self, sock: socket.socket, routes: list[Route], runtime: LambdaRuntime) -> None:
        self.routes = routes
        self.runtime = runtime
        gateway = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are separate writes: with Nagle on, the client's delayed ACK holds the body ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet: handlers log themselves
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_REQUEST_BYTES:
                    status, out_headers, out_body = _json(413, "Request Entity Too Large")
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    headers.setdefault("x-forwarded-proto", "http")  # API Gateway sets it; here it is http
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

        self.server = ThreadingHTTPServer(sock.getsockname(), RequestHandler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple:
        route = match(method, urlsplit(raw_path).path, self.routes)
        if route is None:
            return _json(404, "Not Found")
        event = api_gateway_event(method, raw_path, headers, body, f"{route.method} {route.path}")
        if len(json.dumps(event)) > MAX_LAMBDA_PAYLOAD_BYTES:
            return _json(413, "Request Entity Too Large")
        try:
            outcome = self.runtime.invoke(route.function, event)
        except Throttled:
            return _json(429, "Too Many Requests")
        if not outcome.ok:
            if outcome.error_type == "Sandbox.Timedout":
                return _json(503, "Service Unavailable")
            return _json(500, "Internal Server Error")
        result = outcome.result
        if len(json.dumps(result)) > MAX_LAMBDA_PAYLOAD_BYTES:
            return _json(500, "Internal Server Error")  # Lambda refuses a response over 6 MB
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
