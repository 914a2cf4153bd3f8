"""The management Lambda registers each feature's routes on the first request for one of its paths
(functions/handlers/route_groups.py): every route a group registers must be found by its path's first segment, or
a request for it would be a 404."""

from __future__ import annotations

from functions.common.http import create_app
from functions.handlers.route_groups import ROUTE_GROUPS, group_for, register_group


def _paths(group: tuple[str, str]) -> set[str]:
    app = create_app("probe")
    register_group(app, group)
    return {route.rule.pattern.lstrip("^").rstrip("$") for route in [*app._static_routes, *app._dynamic_routes]}


def test_every_route_of_a_group_is_found_by_its_first_segment() -> None:
    groups = dict.fromkeys(ROUTE_GROUPS.values())
    assert len(groups) == 8  # every feature of the management API
    for group in groups:
        paths = _paths(group)
        assert paths, group
        for path in paths:
            assert group_for(path) == group, (path, group)


def test_a_path_names_only_the_group_it_is_in() -> None:
    assert group_for("/v1/customers/abc/state") == ("functions.customers.routes", "register")
    assert group_for("/v1/customer-meters/") == ("functions.customer_meters.routes", "register")
    assert group_for("/v1/checkouts/xyz") is None  # a Polar group Meterbill does not serve: nothing to register
    assert group_for("/openapi.json") is None
