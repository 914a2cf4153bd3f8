"""Make the layer's re-exporting package `__init__` files lazy (`make build` runs this).

Importing `aws_lambda_powertools.event_handler.api_gateway` runs `event_handler/__init__.py` first, and that
file imports every resolver Powertools has: AppSync's pulls in asyncio, with its event loops, subprocess and
selectors; Bedrock's, VPC Lattice's and the HTTP resolver come along. `api_gateway` in turn imports
`utilities.data_classes`, whose `__init__` imports all 30 event-source classes (CodePipeline's brings tempfile
and zipfile) where the gateway needs six. None of it is used, and all of it ran in every cold start: 92 M
instructions of the ingest's 1,418 M (6.5%, counted by valgrind; docs/performance.md, Cold start).

The rewrite keeps each package's interface: the same names, bound to the same objects, imported on first
access (a module `__getattr__`, PEP 562) instead of when the package loads; `from package import Name`,
`package.Name`, `dir(package)` and `package.submodule` behave as before. Statements that are not imports of
the package's own modules (a constant, a call such as Powertools' `set_package_logger_handler()`) stay eager,
and so does every import whose name such a statement uses. A package whose `__init__` is not of this shape is
refused, not rewritten: a Powertools upgrade that changes one of these files fails the build instead of
shipping an `__init__` that behaves differently.

    python -m infra.lazy_inits .build/layer/python
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Packages imported by some handler whose __init__ imports modules no handler needs.
PACKAGES = (
    "aws_lambda_powertools/event_handler",
    "aws_lambda_powertools/utilities/data_classes",
)

MARKER = "# made lazy by infra/lazy_inits.py"

_LAZY_TAIL = '''
def __getattr__(name):
    # The first access imports the module that defines the name, as the original eager import did.
    import importlib

    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
'''


class NotReExporting(ValueError):
    """The __init__ does something besides re-exporting names from its own modules and simple statements."""


def _own_module(node: ast.ImportFrom, package: str) -> str | None:
    """The absolute name of the module a `from ... import` reads, when it is one of the package's own."""
    if node.level == 1:
        return f"{package}.{node.module}" if node.module else None
    if node.level == 0 and node.module and node.module.startswith(package + "."):
        return node.module
    return None


def lazy_source(source: str, package: str) -> str:
    """The lazy equivalent of a package `__init__`'s source (`package` is its dotted name)."""
    tree = ast.parse(source)
    lazy: dict[str, tuple[str, str]] = {}
    eager: list[ast.stmt] = []
    for node in tree.body:
        module = _own_module(node, package) if isinstance(node, ast.ImportFrom) else None
        if module is None:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or (
                    isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id in ("__getattr__", "__dir__") for t in node.targets)):
                raise NotReExporting(f"{package}: line {node.lineno} defines code, not a re-export")
            eager.append(node)
            continue
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            if alias.name == "*":
                raise NotReExporting(f"{package}: line {node.lineno} imports *")
            lazy[alias.asname or alias.name] = (module, alias.name)
    used = {n.id for stmt in eager for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    # Importing a submodule binds its name on the package, so a name that is also a submodule's (data_classes'
    # `event_source` function, from its `event_source` module) would read as the module once anything imported
    # that module: those stay eager, as in the original.
    depth = len(package.split("."))
    module_names = {module.split(".")[depth] for module, _ in lazy.values()}
    kept_imports = {name: target for name, target in lazy.items() if name in used or name in module_names}
    for name in kept_imports:
        del lazy[name]
    # A submodule the original imported is an attribute of the package after the import: keep it reachable.
    submodules = sorted(module_names)
    docstring = ast.get_docstring(tree, clean=False)
    body = [stmt for stmt in eager if not (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value == docstring)]
    lines = [f'"""{docstring}"""' if docstring is not None else "", MARKER, ""]
    lines += [f"from {module} import {attribute} as {name}" for name, (module, attribute) in kept_imports.items()]
    lines += [ast.unparse(stmt) for stmt in body]
    lines += ["", f"_LAZY = {dict(sorted(lazy.items()))!r}", f"_SUBMODULES = frozenset({submodules!r})", _LAZY_TAIL]
    return "\n".join(lines).lstrip("\n")


def make_lazy(site_packages: Path, packages: tuple[str, ...] = PACKAGES) -> None:
    for package in packages:
        init = site_packages / package / "__init__.py"
        source = init.read_text()
        if MARKER not in source:
            init.write_text(lazy_source(source, package.replace("/", ".")))


if __name__ == "__main__":
    make_lazy(Path(sys.argv[1]))
