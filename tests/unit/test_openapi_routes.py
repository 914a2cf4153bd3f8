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
