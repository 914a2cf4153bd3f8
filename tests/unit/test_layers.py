"""The import graph of functions/ keeps its layers (docs/architecture.md):

    handlers -> features -> auth -> store -> common      (adapters: thin AWS clients, beside the store)

- a module imports only from its own layer or the layers below it (common imports nothing of ours above it);
- the store imports no feature; no feature imports another feature's routes (handlers wire routes);
- no import cycle between modules, nor between features (schemas apart: models may embed each other's).

Read with ast from the sources, every import counted (inside functions and under TYPE_CHECKING too: an import
there is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions"

# Lower number = lower layer. Every top-level package of functions/ not named here is a feature.
LAYERS = {"common": 0, "adapters": 1, "store": 1, "auth": 2, "handlers": 4}
FEATURE = 3


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from functions.store import dynamo` imports the module functions.store.dynamo
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t == "functions" or t.startswith("functions.")}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {t for t in imports_of(name, path, known) if t in known and t != name}
            for name, path in known.items()}


def top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(name: str) -> int:
    return LAYERS.get(top(name), FEATURE)


def test_the_package_has_the_layers_this_test_names() -> None:
    tops = {top(m) for m in modules()} - {""}
    assert {"common", "store", "handlers", "auth", "adapters"} <= tops
    assert tops - set(LAYERS), "no feature packages found"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = sorted(f"{src} -> {dst}" for src, targets in graph().items() for dst in targets
                    if layer(dst) > layer(src))
    assert upward == []


def test_the_store_and_common_import_no_feature() -> None:
    offenders = sorted(f"{src} -> {dst}" for src, targets in graph().items() for dst in targets
                       if layer(src) < FEATURE and layer(dst) == FEATURE)
    assert offenders == []


def test_no_feature_imports_another_features_routes() -> None:
    offenders = sorted(
        f"{src} -> {dst}" for src, targets in graph().items() for dst in targets
        if layer(src) == FEATURE and top(dst) != top(src) and dst.rsplit(".", 1)[-1].endswith("routes")
    )
    assert offenders == []


def test_adapters_and_the_store_do_not_import_each_other() -> None:
    offenders = sorted(f"{src} -> {dst}" for src, targets in graph().items() for dst in targets
                       if {top(src), top(dst)} == {"store", "adapters"})
    assert offenders == []


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycle_between_modules() -> None:
    assert find_cycle(graph()) is None


@pytest.mark.parametrize("edges, cyclic", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
])
def test_the_cycle_finder_finds_cycles(edges: dict[str, set[str]], cyclic: bool) -> None:
    assert (find_cycle(edges) is not None) == cyclic


def test_the_graph_sees_every_kind_of_import() -> None:
    edges = graph()
    assert "functions.store.dynamo" in edges["functions.store.aggregates"]  # from functions.store import dynamo
    assert "functions.store.partial" in edges["functions.store.aggregates"]  # from functions.store.partial import
    assert "functions.events.ingest_route" in edges["functions.handlers.ingest"]  # inside a `with` block


def test_no_import_cycle_between_features() -> None:
    """A feature may use another's service, but two features never depend on each other. Request and response
    models may embed another feature's (a customer meter embeds its customer and its meter), so an import of
    another feature's schemas is not counted here; schemas themselves depend on no service (next test)."""
    features: dict[str, set[str]] = {}
    for src, targets in graph().items():
        if layer(src) == FEATURE:
            features.setdefault(top(src), set()).update(
                top(d) for d in targets
                if layer(d) == FEATURE and top(d) != top(src) and not d.endswith(".schemas"))
    assert find_cycle(features) is None


def test_schemas_import_only_schemas_pure_rules_and_common() -> None:
    """Of the store, schemas may import the entities alone (they convert them to response models; no I/O)."""
    entities = ("functions.store.entities", "functions.store.billing_entities", "functions.store.webhook_entities")
    offenders = sorted(
        f"{src} -> {dst}" for src, targets in graph().items() if src.endswith(".schemas") for dst in targets
        if (top(dst) in ("store", "adapters", "auth", "handlers") and dst not in entities)
        or dst.rsplit(".", 1)[-1] in ("service", "routes")
    )
    assert offenders == []
