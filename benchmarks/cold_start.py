"""Cold start: each handler module imported in a fresh python3.12 process laid out as Lambda lays it out.

Lambda puts the function asset at /var/task and the layer's `python/` at /opt/python, in that order, at the
front of sys.path; here they are `.build/lambda` and `.build/layer/python` (run `make build` first). The
child process gets only those two (no repository, no virtualenv, no user site-packages), the environment
variables the handlers read, and times `import functions.handlers.<name>`: the module-level code, which is
what Lambda's init phase runs before the first invocation (creating the DynamoDB client and freezing the heap
included). The median of several fresh processes is reported, wall time and the process's CPU time (the
machine may be shared: CPU time is what a busy neighbour does not inflate), with `python -X importtime`'s heaviest
imports of the median run's module so that a regression shows where it came from.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TASK = ROOT / ".build" / "lambda"
LAYER = ROOT / ".build" / "layer" / "python"
HANDLERS = ("ingest", "management", "portal", "bulk_ingest", "cycle_close", "close_worker", "webhook_delivery",
            "invoice_publisher")
TARGET_MS = 300

# What Lambda sets for every function, and what the template sets for ours (values are placeholders: module
# import only reads them, nothing is called).
ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start-benchmark",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_ACCESS_KEY_ID": "cold-start",
    "AWS_SECRET_ACCESS_KEY": "cold-start",
    "AWS_SESSION_TOKEN": "cold-start",
    "LAMBDA_TASK_ROOT": "/var/task",
    "TABLE_NAME": "meterbill",
    "EVENT_BUS_NAME": "meterbill",
    "INVOICE_BUCKET": "meterbill-invoices",
    "BATCH_BUCKET": "meterbill-batch",
    "PUBLIC_URL": "https://api.example.com",
    "GRACE_PERIOD_SECONDS": "3600",
    "WEBHOOK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
    "PUBLISH_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/invoices",
    "CLOSE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/due",
    "POWERTOOLS_SERVICE_NAME": "cold-start",
    "POWERTOOLS_METRICS_NAMESPACE": "Meterbill",
}

CHILD = """
import sys, time
sys.path[:0] = [{task!r}, {layer!r}]
wall, cpu = time.perf_counter(), time.process_time()
import functions.handlers.{handler}
print(round((time.perf_counter() - wall) * 1000, 2), round((time.process_time() - cpu) * 1000, 2))
"""


def python312() -> str:
    """The Lambda runtime's Python: pyenv's 3.12 (the `python3.12` shim fails unless 3.12 is selected), else a
    python3.12 on the PATH."""
    root = subprocess.run(["sh", "-c", "pyenv root 2>/dev/null || echo ~/.pyenv"], capture_output=True,
                          text=True).stdout.strip()
    candidates = sorted(glob.glob(f"{root}/versions/3.12.*/bin/python3.12"))
    if candidates:
        return candidates[-1]
    found = shutil.which("python3.12")
    if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
        return found
    raise FileNotFoundError("python3.12 is needed (the Lambda runtime's version): `pyenv install 3.12`")


def import_ms(python: str, handler: str, *, importtime: bool = False) -> tuple[float, float, str]:
    """Wall and CPU milliseconds of the import, and the -X importtime log when asked."""
    # -B: /var/task and /opt are read-only in Lambda, so bytecode compiled at import is never kept (without it
    # the first run here would write .pyc files that every later run reuses); -s: no user site-packages;
    # -P: no script/cwd directory on sys.path (the repository must not be found); run from an empty directory
    # with nothing but the environment above.
    flags = ["-B", "-s", "-P"] + (["-X", "importtime"] if importtime else [])
    code = CHILD.format(task=str(TASK), layer=str(LAYER), handler=handler)
    with tempfile.TemporaryDirectory() as empty:
        done = subprocess.run([python, *flags, "-c", code], cwd=empty, env={"PATH": "/usr/bin:/bin", **ENVIRONMENT},
                              capture_output=True, text=True, check=True)
    wall, cpu = (float(x) for x in done.stdout.split())
    return wall, cpu, done.stderr


def heaviest_imports(importtime_log: str, count: int = 6) -> list[dict[str, Any]]:
    """Where the import time goes: each top-level package's own (self) time summed over its modules, from
    `-X importtime` lines (`import time: self [us] | cumulative | name`)."""
    totals: dict[str, int] = {}
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if own.isdigit():
            package = name.split(".")[0]
            totals[package] = totals.get(package, 0) + int(own)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:count]
    return [{"package": name, "ms": round(us / 1000, 1)} for name, us in ranked]


def run(runs: int = 9) -> dict[str, Any]:
    if not (TASK.is_dir() and LAYER.is_dir()):
        raise FileNotFoundError("the Lambda asset is missing: run `make build` first")
    python = python312()
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    import_ms(python, "ingest")  # warms the OS file cache once, as a deployed image's pages would be
    handlers: dict[str, Any] = {}
    for handler in HANDLERS:
        samples = [import_ms(python, handler)[:2] for _ in range(runs)]
        log = import_ms(python, handler, importtime=True)[2]
        handlers[handler] = {
            "median_ms": statistics.median(wall for wall, _ in samples),
            "median_cpu_ms": statistics.median(cpu for _, cpu in samples),
            "runs_ms": [wall for wall, _ in samples],
            "heaviest": heaviest_imports(log),
        }
    return {"python": version, "runs": runs, "target_ms": TARGET_MS, "handlers": handlers,
            "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(json.dumps(run(args.runs), indent=2))


if __name__ == "__main__":
    main()
