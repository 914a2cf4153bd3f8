"""The management Lambda registers each feature's routes on the first request for one of its paths
(functions/handlers/management.py ROUTE_GROUPS): every route a group registers must be found by its path's first
segment, or a request for it would be a 404."""

from __future__ import annotations

import importlib

import pytest

from functions.common.http import create_app


@pytest.fixture(scope="module")
def management(monkeypatch_module):
    return importlib.import_module("functions.handlers.management")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"TABLE_NAME": "t", "EVENT_BUS_NAME": "b", "INVOICE_BUCKET": "i",
                            "WEBHOOK_QUEUE_URL": "https://sqs.example/q", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(name, value)
        yield patch


def _paths(group: tuple[str, str]) -> set[str]:
    from functions.handlers.management import register_group

    app = create_app("probe")
    register_group(app, group)
    return {route.rule.pattern.lstrip("^").rstrip("$") for route in [*app._static_routes, *app._dynamic_routes]}


def test_every_route_of_a_group_is_found_by_its_first_segment(management) -> None:
    groups = dict.fromkeys(management.ROUTE_GROUPS.values())
    assert len(groups) == 8  # every feature of the management API
    for group in groups:
        paths = _paths(group)
        assert paths, group
        for path in paths:
            segment = path.split("/")[2]
            assert management.ROUTE_GROUPS.get(segment) == group, (path, group)


def test_a_request_registers_only_the_group_its_path_is_in(management) -> None:
    before = set(management._registered)
    management._routes_for("/v1/customers/abc/state")
    management._routes_for("/v1/checkouts/xyz")  # a Polar group Meterbill does not serve: nothing to register
    management._routes_for("/openapi.json")
    assert set(management._registered) - before <= {("functions.customers.routes", "register")}
    assert ("functions.customers.routes", "register") in management._registered
