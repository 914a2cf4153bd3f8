"""An in-process stand-in for POST /v1/events/ingest (httpx.MockTransport): dedupes by external_id like the real
API, refuses what a test's rule refuses with the real API's 422 shape, and can be taken down and brought back.

The buffer's tests against the real local stack live in tests/sdk/test_buffer.py; these run in a second and
under every Python the SDK declares (no local stack there)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

Rule = Callable[[int, dict[str, Any]], "str | None"]  # (index, event) -> reason to refuse it, or None


class FakeIngestAPI:
    def __init__(self, refuse: Rule | None = None) -> None:
        self.refuse = refuse
        self.stored: dict[str, dict[str, Any]] = {}  # external_id -> event
        self.requests: list[list[dict[str, Any]]] = []
        self.status_override: int | None = None  # e.g. 503: the API is down
        self.raise_error: BaseException | None = None  # raised by the transport itself
        self.lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.raise_error is not None:
            raise self.raise_error
        if self.status_override is not None:
            return httpx.Response(self.status_override, json={"error": "down"})
        events = json.loads(request.content)["events"]
        with self.lock:
            self.requests.append(events)
            errors = []
            for index, event in enumerate(events):
                reason = self.refuse(index, event) if self.refuse else None
                if reason:
                    errors.append({"loc": ["body", "events", index, "metadata"], "msg": reason, "type": "value_error"})
            if errors:
                return httpx.Response(422, json={"error": "RequestValidationError", "detail": errors})
            inserted = 0
            for event in events:
                if event["external_id"] not in self.stored:
                    self.stored[event["external_id"]] = event
                    inserted += 1
        return httpx.Response(200, json={"inserted": inserted, "duplicates": len(events) - inserted})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)
