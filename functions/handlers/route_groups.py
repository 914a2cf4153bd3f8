"""The management Lambda's routes by feature: each group, named by the first segment of the paths it serves under
/v1/, is imported and registered on the first request for one of its paths (functions/handlers/management.py), so
a cold start loads the feature its request is for, not all eight. tests/infra/test_route_groups.py checks the
table against what each module registers. Importing this module has no side effects."""

from __future__ import annotations

import importlib
from typing import Any

RouteGroup = tuple[str, str]  # (module, its register function)

ROUTE_GROUPS: dict[str, RouteGroup] = {
    "organizations": ("functions.organizations.routes", "register"),
    "audit-log": ("functions.organizations.routes", "register"),
    "customers": ("functions.customers.routes", "register"),
    "meters": ("functions.meters.routes", "register"),
    "customer-meters": ("functions.customer_meters.routes", "register"),
    "events": ("functions.events.routes", "register_listing"),
    "event-types": ("functions.events.routes", "register_listing"),
    **{segment: ("functions.billing.routes", "register")
       for segment in ("products", "subscriptions", "discounts", "tax-rates", "orders", "invoices")},
    "customer-sessions": ("functions.customer_sessions.routes", "register"),
    "webhooks": ("functions.webhooks.routes", "register"),
}


def group_for(path: str) -> RouteGroup | None:
    """The group serving `path`, or None (not under /v1/, or no group of Meterbill's serves it)."""
    parts = path.split("/")
    return ROUTE_GROUPS.get(parts[2]) if len(parts) > 2 and parts[1] == "v1" else None


def register_group(resolver: Any, group: RouteGroup) -> None:
    module, function = group
    getattr(importlib.import_module(module), function)(resolver)
