"""What `make build` makes: bytecode that Lambda's Python 3.12 loads as is, and a layer with one botocore."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from benchmarks.cold_start import ENVIRONMENT, HANDLERS, python312
from infra.lazy_inits import PACKAGES
from infra.slim_botocore import SERVICES

ROOT = Path(__file__).resolve().parents[2]

# Header of a .pyc (PEP 552): magic (4 bytes), flags (4 bytes, little endian). Flags 0b01: hash-based and not
# checked against the source; 0b11: checked; 0: timestamp-based.
UNCHECKED_HASH = 0b01


@pytest.fixture(scope="module")
def python() -> str:
    return python312()


def _sources(built: Path) -> list[Path]:
    return [p for root in (built / "lambda", built / "layer" / "python") for p in root.rglob("*.py")]


def test_every_module_has_unchecked_hash_bytecode_for_python_312(built: Path, python: str) -> None:
    read_magic = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    magic = subprocess.run([python, "-c", read_magic], capture_output=True, text=True, check=True).stdout
    sources = _sources(built)
    assert len(sources) > 500  # the asset and the layer, not an empty folder
    wrong = []
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        header = pyc.read_bytes()[:8] if pyc.exists() else b""
        if header[:4].hex() != magic or int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            wrong.append(str(source.relative_to(built)))
    assert wrong == []
    other_versions = [p for p in built.rglob("*.pyc") if ".cpython-312" not in p.name]
    assert other_versions == []  # pip's own compile step (the venv's 3.11) is not wanted


def test_handlers_import_without_compiling_anything_or_loading_reportlab(built: Path, python: str) -> None:
    """Every handler imported the way Lambda does (asset, then layer; nothing writable): no source is compiled,
    and reportlab waits for the first PDF."""
    code = f"""
import sys
from importlib.machinery import SourceFileLoader
compiled = []
original = SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return original(self, data, path, *args, **kwargs)
SourceFileLoader.source_to_code = counting
sys.path[:0] = [{str(built / "lambda")!r}, {str(built / "layer" / "python")!r}]
for name in {HANDLERS!r}:
    __import__("functions.handlers." + name)
print(len(compiled), "reportlab" in sys.modules, compiled[:5])
"""
    done = subprocess.run([python, "-B", "-s", "-P", "-c", code], cwd=built,
                          env={"PATH": "/usr/bin:/bin", **ENVIRONMENT}, capture_output=True, text=True, check=True)
    count, reportlab, sample = done.stdout.split(" ", 2)
    assert (count, reportlab) == ("0", "False"), sample


def test_layer_has_one_botocore_and_no_xray_sdk(built: Path) -> None:
    layer = built / "layer" / "python"
    assert [p.relative_to(layer) for p in built.rglob("botocore") if p.is_dir()] == [Path("botocore")]
    assert (layer / "boto3").is_dir()  # pinned, not the runtime's
    assert not (layer / "aws_xray_sdk").exists()


def _clients_created() -> set[str]:
    names = set()
    for path in (ROOT / "functions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in ("boto3", "aws_clients")):
                assert node.args and isinstance(node.args[0], ast.Constant), f"{path}: a service name in a variable"
                names.add(node.args[0].value)
    return names


def test_botocore_data_is_exactly_the_services_the_functions_call(built: Path) -> None:
    assert _clients_created() == set(SERVICES)
    data = built / "layer" / "python" / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(SERVICES)
    # Kept decompressed (read at every cold start), each model still where botocore looks for it.
    assert list(data.rglob("*.json.gz")) == []
    assert (data / "dynamodb" / "2012-08-10" / "service-2.json").is_file()


# What each handler's import must leave out (DESIGN.md section 10, cold start): other features' code it never
# calls, and libraries it has no use for. Each line is a cut that a new import would silently undo.
NOT_IMPORTED = {
    "ingest": ("functions.events.routes", "functions.customers.schemas", "functions.meters.schemas",
               "functions.billing", "functions.portal", "functions.bulk", "functions.customer_sessions",
               "functions.store.billing_entities", "functions.store.webhook_entities"),
    # Each feature's routes wait for the first request to one of its paths (ROUTE_GROUPS in the handler).
    "management": ("functions.portal", "functions.bulk", "functions.billing", "functions.customers",
                   "functions.customer_meters", "functions.customer_sessions", "functions.events",
                   "functions.meters", "functions.organizations", "functions.webhooks", "functions.store.entities",
                   "functions.store.billing_entities"),
    "portal": ("functions.billing.schemas", "functions.meters.schemas", "functions.organizations.schemas",
               "functions.billing.routes", "functions.store.webhook_entities",
               "functions.billing.close", "functions.events", "functions.bulk"),
    "bulk_ingest": ("aws_lambda_powertools.event_handler", "functions.billing", "functions.portal",
                    "functions.store.billing_entities", "functions.store.webhook_entities"),
    "cycle_close": ("pydantic", "aws_lambda_powertools.event_handler", "functions.billing.schemas",
                    "functions.meters.schemas", "functions.portal", "functions.bulk"),
    "close_worker": ("pydantic", "aws_lambda_powertools.event_handler", "functions.billing.schemas",
                     "functions.meters.schemas", "functions.portal", "functions.bulk"),
    # Renders and announces; it closes nothing and routes no request.
    "invoice_publisher": ("pydantic", "aws_lambda_powertools.event_handler", "functions.billing.schemas",
                          "functions.portal", "functions.bulk", "functions.webhooks"),
    # Delivering builds Polar's shapes; it never routes requests nor closes cycles.
    "webhook_delivery": ("aws_lambda_powertools.event_handler", "functions.billing.close", "functions.bulk",
                         "functions.webhooks.routes"),
}
# boto3 (with s3transfer) adds nothing to botocore's clients; reportlab waits for the first PDF; Powertools'
# other resolvers (AppSync's with asyncio) and event classes stay out (infra/lazy_inits.py).
NOT_IMPORTED_BY_ANY = ("boto3", "s3transfer", "reportlab", "asyncio", "aws_lambda_powertools.event_handler.appsync",
                       "aws_lambda_powertools.event_handler.bedrock_agent",
                       "aws_lambda_powertools.utilities.data_classes.code_pipeline_job_event",
                       "aws_lambda_powertools.utilities.data_classes.kafka_event")


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_imports_nothing_it_does_not_use(built: Path, python: str, handler: str) -> None:
    code = f"""
import sys
sys.path[:0] = [{str(built / "lambda")!r}, {str(built / "layer" / "python")!r}]
import functions.handlers.{handler}
print(" ".join(sys.modules))
"""
    done = subprocess.run([python, "-B", "-s", "-P", "-c", code], cwd=built,
                          env={"PATH": "/usr/bin:/bin", **ENVIRONMENT}, capture_output=True, text=True, check=True)
    loaded = done.stdout.split()
    assert f"functions.handlers.{handler}" in loaded
    unwanted = NOT_IMPORTED[handler] + NOT_IMPORTED_BY_ANY
    assert [m for m in loaded if m in unwanted or m.startswith(tuple(f"{u}." for u in unwanted))] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_lazy_packages_export_what_the_originals_export(built: Path, python: str, package: str) -> None:
    """Every name the installed (eager) __init__ binds is on the layer's lazy package, as the same object."""
    import importlib.util

    spec = importlib.util.find_spec(package.replace("/", "."))
    assert spec is not None and spec.origin is not None
    original = ast.parse(Path(spec.origin).read_text())
    names = sorted({alias.asname or alias.name for node in original.body if isinstance(node, ast.ImportFrom)
                    for alias in node.names})
    assert len(names) > 10
    dotted = package.replace("/", ".")
    code = f"""
import importlib, sys
sys.path[:0] = [{str(built / "layer" / "python")!r}]
package = importlib.import_module({dotted!r})
wrong = []
for name in {names!r}:
    value = getattr(package, name)
    own_name = getattr(value, "__name__", "")
    home = sys.modules.get(getattr(value, "__module__", "") or "")
    if not (value is getattr(home, own_name, None) or value is sys.modules.get(own_name)):
        wrong.append(name)
print(sorted(set({names!r}) - set(dir(package))), wrong)
"""
    done = subprocess.run([python, "-B", "-s", "-P", "-c", code], cwd=built,
                          env={"PATH": "/usr/bin:/bin", **ENVIRONMENT}, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] []"
