"""Shared fixtures. One local stack (DynamoDB Local, moto, the edge, the Lambda runtime, the gateway) starts once
per test session (per xdist worker), from the synthesized template, exactly as `meterbill dev` starts it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from local_stack.aws import LocalAws
from local_stack.stack import LocalStack, Options

RUNNING: dict[str, LocalStack] = {}  # the session's stack, for helpers that are not fixtures


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    # Lambda's retry delays (1 and 2 minutes) scaled down; the 15-minute schedule left to the tests.
    stack = LocalStack(None, Options(retry_delay_scale=0.02, schedule_seconds=24 * 3600)).start()
    RUNNING["stack"] = stack
    yield stack
    stack.stop()


def invoke(handler_module: str, event: dict) -> dict:
    """Invoke a function synchronously through the local runtime; its error fails the test with the trace."""
    outcome = RUNNING["stack"].invoke(handler_module, event)
    assert outcome.ok, f"{outcome.error_type}: {outcome.error_message}\n{''.join(outcome.stack_trace)}"
    return outcome.result  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def local_aws(local_stack: LocalStack) -> LocalAws:
    assert local_stack.aws is not None
    return local_stack.aws


@pytest.fixture(scope="session")
def api_url(local_stack: LocalStack) -> str:
    """The real handlers in the local Lambda runtime behind the local gateway, over real HTTP."""
    return local_stack.api_url


@pytest.fixture
def edge_hooks(local_aws: LocalAws) -> Iterator[list]:
    """Fault injection at the AWS edge for one test (removed afterwards)."""
    assert local_aws.edge is not None
    hooks = local_aws.edge.hooks
    before = list(hooks)
    yield hooks
    hooks[:] = before


@pytest.fixture
def slow_calls(edge_hooks: list) -> Callable[[str, str, float], None]:
    """slow_calls(role, service, seconds): every call of that role to that service ("dynamodb", "sqs") waits that
    long at the edge. A test of work that must outlast an invocation's time sets how long the work takes, not how
    fast the machine is (a faster runner once fitted a whole cycle close into one invocation, and the hand-over
    was never exercised)."""

    def slow(role: str, service: str, seconds: float) -> None:
        def hook(when: str, principal: str, called: str, operation: str) -> None:
            if when == "before" and principal == role and called == service:
                time.sleep(seconds)

        edge_hooks.append(hook)

    return slow


@pytest.fixture
def slow_dynamodb(slow_calls: Callable[[str, str, float], None]) -> Callable[[str, float], None]:
    """slow_dynamodb(role, seconds): slow_calls for DynamoDB."""
    return lambda role, seconds: slow_calls(role, "dynamodb", seconds)


class Org:
    """An organization with a full-scope token and an HTTP client that sends it."""

    def __init__(self, api_url: str) -> None:
        from functions.organizations.service import create_organization

        created = create_organization("test org")
        self.id = created.organization_id
        self.token = created.token
        self.http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)


@pytest.fixture
def org(api_url: str) -> Org:
    return Org(api_url)


@pytest.fixture
def other_org(api_url: str) -> Org:
    return Org(api_url)
