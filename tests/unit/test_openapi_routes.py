"""Each route declares the scope it requires (the resolver authenticates with it before validation): the
declaration and the route's own `require(app, scope)` must name the same scope."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _routes() -> list[tuple[str, str, str | None, list[str]]]:
    found = []
    for path in sorted((ROOT / "functions").glob("*/*.py")):
        if not path.name.endswith(("routes.py", "ingest_route.py")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr in ("get", "post", "patch", "delete", "put")):
                    continue
                declared = None
                for keyword in decorator.keywords:
                    if keyword.arg is None and isinstance(keyword.value, ast.Call):
                        for inner in keyword.value.keywords:
                            if inner.arg == "scope" and isinstance(inner.value, ast.Constant):
                                declared = inner.value.value
                required = [call.args[1].value for call in ast.walk(node)
                            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                            and call.func.id == "require" and len(call.args) == 2
                            and isinstance(call.args[1], ast.Constant)]
                path_arg = decorator.args[0].value if decorator.args else "?"  # type: ignore[attr-defined]
                found.append((f"{path.relative_to(ROOT)}:{path_arg}", node.name, declared, required))
    return found


def test_every_route_declares_the_scope_it_requires() -> None:
    routes = _routes()
    assert len(routes) > 40
    for where, name, declared, required in routes:
        if required:
            assert required == [declared], (where, name, declared, required)


def test_response_models_are_not_built_by_importing_the_routes() -> None:
    """They describe the API (functions/common/schemas.py): no Lambda builds one at cold start."""
    import subprocess
    import sys

    code = """
import functions.billing.routes, functions.customers.routes, functions.meters.routes, functions.events.routes
import functions.events.ingest_route, functions.customer_meters.routes, functions.customer_sessions.routes
import functions.portal.routes, functions.organizations.routes
from pydantic import BaseModel
seen, stack = set(), [BaseModel]
while stack:
    for sub in stack.pop().__subclasses__():
        if sub not in seen:
            seen.add(sub)
            stack.append(sub)
print(" ".join(sorted(c.__name__ for c in seen)))
"""
    names = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split())
    assert "MeterCreate" in names
    assert not names & {"Meter", "Customer", "Event", "EventsIngestResponse", "Product", "Invoice", "Error",
                        "ListResource", "CustomerCustomerMeter", "Organization", "CustomerSession"}
    from functions.meters.schemas import Meter  # and on first use, they are there

    assert Meter.__name__ == "Meter"
