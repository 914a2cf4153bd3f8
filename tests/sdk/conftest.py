from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from meterbill_sdk import IngestionBuffer, Meterbill
from tests.conftest import Org


@pytest.fixture
def buffer(org: Org, api_url: str) -> Iterator[IngestionBuffer]:
    ingestion = IngestionBuffer(org.token, api_url, batch_size=50, flush_interval=0.05)
    yield ingestion
    ingestion.close()


@pytest.fixture
def client(org: Org, api_url: str) -> Iterator[Meterbill]:
    with Meterbill(org.token, api_url) as meterbill:
        yield meterbill


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def events_named(client: Meterbill, customer: str, name: str) -> list[dict]:
    found = client.list_events(external_customer_id=customer, name=name, limit=100)["items"]
    return sorted(found, key=lambda e: e["timestamp"])
