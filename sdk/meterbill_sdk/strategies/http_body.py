"""HTTP body strategy: ASGI and WSGI middleware counting request and response body bytes per customer.

`customer` is a function of the request (the ASGI scope, or the WSGI environ) returning the external customer
id, or None to skip metering that request. One `http_body` event per request, tracked when the response ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer


class MeterbillASGIMiddleware:
    def __init__(self, app: Any, buffer: IngestionBuffer, customer: Callable[[dict[str, Any]], str | None],
                 event_name: str = "http_body") -> None:
        self.app, self.buffer, self.customer, self.event_name = app, buffer, customer, event_name

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        who = self.customer(scope)
        counts = {"request": 0, "response": 0, "status": 0}

        async def counting_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                counts["request"] += len(message.get("body", b""))
            return message

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                counts["status"] = message["status"]
            elif message["type"] == "http.response.body":
                counts["response"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            if who:
                self.buffer.track(self.event_name, external_customer_id=who, metadata={
                    "request_bytes": counts["request"], "response_bytes": counts["response"],
                    "method": scope.get("method", ""), "path": scope.get("path", "")[:500],
                    "status": counts["status"]})


class _CountingInput:
    def __init__(self, raw: Any, counts: dict[str, int]) -> None:
        self.raw, self.counts = raw, counts

    def read(self, *args: Any) -> bytes:
        data: bytes = self.raw.read(*args)
        self.counts["request"] += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data: bytes = self.raw.readline(*args)
        self.counts["request"] += len(data)
        return data

    def __iter__(self) -> Any:
        for line in self.raw:
            self.counts["request"] += len(line)
            yield line


class MeterbillWSGIMiddleware:
    def __init__(self, app: Callable, buffer: IngestionBuffer, customer: Callable[[dict[str, Any]], str | None],
                 event_name: str = "http_body") -> None:
        self.app, self.buffer, self.customer, self.event_name = app, buffer, customer, event_name

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        who = self.customer(environ)
        counts = {"request": 0, "response": 0, "status": 0}
        environ["wsgi.input"] = _CountingInput(environ["wsgi.input"], counts)

        def counting_start(status: str, headers: list, exc_info: Any = None) -> Callable:
            counts["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self.app(environ, counting_start)
        try:
            for chunk in body:
                counts["response"] += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
            if who:
                self.buffer.track(self.event_name, external_customer_id=who, metadata={
                    "request_bytes": counts["request"], "response_bytes": counts["response"],
                    "method": environ.get("REQUEST_METHOD", ""), "path": environ.get("PATH_INFO", "")[:500],
                    "status": counts["status"]})
