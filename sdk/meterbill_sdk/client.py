"""The API client, sync and async: events, meters, customer meters, customers, customer sessions.

Responses are Polar's JSON shapes as dicts (typed loosely on purpose: the server is the schema's owner and
publishes it at /openapi.json).
"""

from __future__ import annotations

from typing import Any

import httpx

Json = dict[str, Any]


class MeterbillError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        raise MeterbillError(response.status_code, body)
    return response.json() if response.content else None


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class _Resources:
    """The paths and shapes, shared by the sync and the async client."""

    @staticmethod
    def ingest(events: list[Json]) -> tuple[str, str, Json]:
        return "POST", "/v1/events/ingest", {"json": {"events": events}}

    @staticmethod
    def list_events(**filters: Any) -> tuple[str, str, Json]:
        return "GET", "/v1/events/", {"params": _drop_none(filters)}

    @staticmethod
    def create_meter(name: str, filter: Json, aggregation: Json, **extra: Any) -> tuple[str, str, Json]:
        return "POST", "/v1/meters/", {"json": {"name": name, "filter": filter, "aggregation": aggregation, **extra}}

    @staticmethod
    def list_meters(**params: Any) -> tuple[str, str, Json]:
        return "GET", "/v1/meters/", {"params": _drop_none(params)}

    @staticmethod
    def get_meter(meter_id: str) -> tuple[str, str, Json]:
        return "GET", f"/v1/meters/{meter_id}", {}

    @staticmethod
    def customer_meters(**filters: Any) -> tuple[str, str, Json]:
        return "GET", "/v1/customer-meters/", {"params": _drop_none(filters)}

    @staticmethod
    def create_customer(email: str, **extra: Any) -> tuple[str, str, Json]:
        return "POST", "/v1/customers/", {"json": {"email": email, **extra}}

    @staticmethod
    def get_customer(customer_id: str) -> tuple[str, str, Json]:
        return "GET", f"/v1/customers/{customer_id}", {}

    @staticmethod
    def customer_state(external_id: str) -> tuple[str, str, Json]:
        return "GET", f"/v1/customers/external/{external_id}/state", {}

    @staticmethod
    def create_customer_session(**who: Any) -> tuple[str, str, Json]:
        return "POST", "/v1/customer-sessions/", {"json": _drop_none(who)}


class Meterbill:
    def __init__(self, token: str, base_url: str, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})

    def _call(self, request: tuple[str, str, Json]) -> Any:
        method, path, kwargs = request
        return _check(self._http.request(method, path, **kwargs))

    def ingest(self, events: list[Json]) -> Json:
        return self._call(_Resources.ingest(events))  # type: ignore[no-any-return]

    def list_events(self, **filters: Any) -> Json:
        return self._call(_Resources.list_events(**filters))  # type: ignore[no-any-return]

    def create_meter(self, name: str, filter: Json, aggregation: Json, **extra: Any) -> Json:
        return self._call(_Resources.create_meter(name, filter, aggregation, **extra))  # type: ignore[no-any-return]

    def list_meters(self, **params: Any) -> Json:
        return self._call(_Resources.list_meters(**params))  # type: ignore[no-any-return]

    def get_meter(self, meter_id: str) -> Json:
        return self._call(_Resources.get_meter(meter_id))  # type: ignore[no-any-return]

    def customer_meters(self, **filters: Any) -> Json:
        return self._call(_Resources.customer_meters(**filters))  # type: ignore[no-any-return]

    def create_customer(self, email: str, **extra: Any) -> Json:
        return self._call(_Resources.create_customer(email, **extra))  # type: ignore[no-any-return]

    def get_customer(self, customer_id: str) -> Json:
        return self._call(_Resources.get_customer(customer_id))  # type: ignore[no-any-return]

    def customer_state(self, external_id: str) -> Json:
        return self._call(_Resources.customer_state(external_id))  # type: ignore[no-any-return]

    def create_customer_session(self, customer_id: str | None = None, external_customer_id: str | None = None,
                                return_url: str | None = None) -> Json:
        return self._call(_Resources.create_customer_session(  # type: ignore[no-any-return]
            customer_id=customer_id, external_customer_id=external_customer_id, return_url=return_url))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Meterbill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMeterbill:
    def __init__(self, token: str, base_url: str, timeout: float = 10.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout,
                                       headers={"Authorization": f"Bearer {token}"})

    async def _call(self, request: tuple[str, str, Json]) -> Any:
        method, path, kwargs = request
        return _check(await self._http.request(method, path, **kwargs))

    async def ingest(self, events: list[Json]) -> Json:
        return await self._call(_Resources.ingest(events))  # type: ignore[no-any-return]

    async def list_events(self, **filters: Any) -> Json:
        return await self._call(_Resources.list_events(**filters))  # type: ignore[no-any-return]

    async def create_meter(self, name: str, filter: Json, aggregation: Json, **extra: Any) -> Json:
        return await self._call(  # type: ignore[no-any-return]
            _Resources.create_meter(name, filter, aggregation, **extra))

    async def list_meters(self, **params: Any) -> Json:
        return await self._call(_Resources.list_meters(**params))  # type: ignore[no-any-return]

    async def customer_meters(self, **filters: Any) -> Json:
        return await self._call(_Resources.customer_meters(**filters))  # type: ignore[no-any-return]

    async def create_customer(self, email: str, **extra: Any) -> Json:
        return await self._call(_Resources.create_customer(email, **extra))  # type: ignore[no-any-return]

    async def customer_state(self, external_id: str) -> Json:
        return await self._call(_Resources.customer_state(external_id))  # type: ignore[no-any-return]

    async def create_customer_session(self, customer_id: str | None = None,
                                      external_customer_id: str | None = None) -> Json:
        return await self._call(_Resources.create_customer_session(  # type: ignore[no-any-return]
            customer_id=customer_id, external_customer_id=external_customer_id))

    async def aclose(self) -> None:
        await self._http.aclose()
