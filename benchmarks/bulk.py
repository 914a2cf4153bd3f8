"""Bulk ingestion of a 1,000,000-line gzip NDJSON file: events per second and peak memory.

The parent process holds DynamoDB Local and moto (which keeps the object in its own memory); the bulk
handler runs in a child process, so the child's peak resident set size (VmHWM) is the handler's alone:
the Python runtime, boto3, the handler and its buffers. The child invokes the handler again while it
reports `incomplete`, as the Lambda's continuation would.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from typing import Any

import boto3

from local_stack.stack import s3_record

CHILD = """
import json, sys, time
from benchmarks.harness import BenchContext
from functions.handlers import bulk_ingest
event = json.loads(sys.argv[1])
started = time.perf_counter()
invocations = 0
while True:
    invocations += 1
    files = bulk_ingest.handler(event, BenchContext("bulk", timeout_seconds=900))["files"]
    if files[0]["status"] != "incomplete":
        break
seconds = time.perf_counter() - started
# VmHWM is this process image's own peak; ru_maxrss would also carry the forked parent's size across exec.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"result": files[0], "seconds": seconds, "invocations": invocations,
                  "max_rss_mb": peak_kb / 1024}))
"""


def make_file(lines: int) -> bytes:
    compressor = gzip.compress
    rows = (
        json.dumps({"name": "request", "external_customer_id": f"customer-{i % 100}",
                    "external_id": f"line-{i}", "metadata": {"bytes": i % 4096, "path": "/v1/things"}})
        for i in range(lines)
    )
    return compressor(("\n".join(rows) + "\n").encode(), compresslevel=6)


def run(lines: int = 1_000_000) -> dict[str, Any]:
    from benchmarks.harness import call_handler
    from functions.handlers import management
    from functions.organizations.service import create_organization

    org = create_organization("bench-bulk")
    call_handler(management.handler, "POST", "/v1/meters/", org.token, {
        "name": "bytes", "filter": {"conjunction": "and", "clauses": []},
        "aggregation": {"func": "sum", "property": "bytes"}})
    body = make_file(lines)
    bucket = os.environ["BATCH_BUCKET"]
    key = f"incoming/{org.organization_id}/bench.ndjson.gz"
    response = boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    event = {"Records": [s3_record(bucket, key, len(body), response["ETag"].strip('"'), response.get("VersionId"))]}
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(event)], capture_output=True, text=True,
                           env=os.environ.copy(), check=True)
    wall = time.perf_counter() - started
    report = json.loads(child.stdout.strip().splitlines()[-1])
    result = report["result"]
    return {"lines": lines, "gzip_bytes": len(body), "inserted": result["inserted"], "rejected": result["rejected"],
            "seconds": report["seconds"], "events_per_second": result["inserted"] / report["seconds"],
            "max_rss_mb": report["max_rss_mb"], "invocations": report["invocations"], "wall_seconds": wall}
