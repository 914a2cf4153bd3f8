"""Shared fixtures. DynamoDB Local and moto's server start once per test session (per xdist worker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from local_stack.aws import LocalAws, private_local_aws


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    with private_local_aws() as aws:
        yield aws


@pytest.fixture(scope="session")
def api_url(local_aws: LocalAws) -> Iterator[str]:
    """The real handlers behind the local gateway, over real HTTP."""
    from local_stack.gateway import Gateway

    gateway = Gateway(0)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    yield gateway.url
    gateway.shutdown()


class Org:
    """An organization with a full-scope token and an HTTP client that sends it."""

    def __init__(self, api_url: str) -> None:
        from functions.organizations.service import create_organization

        created = create_organization("test org")
        self.id = created.organization_id
        self.token = created.token
        self.http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@pytest.fixture
def org(api_url: str) -> Org:
    return Org(api_url)


@pytest.fixture
def other_org(api_url: str) -> Org:
    return Org(api_url)
