"""Cut the layer's botocore data down to the services the functions call (`make build` runs this).

Creating the first client costs a Lambda cold start two things that grow with every AWS service botocore
knows, not with the ones used: the loader lists every service directory (about 400) to check the name, and
the endpoint resolver parses endpoints.json (1.2 MB, every service in every partition). Keeping only the
services called takes about 70 ms off each cold start and 27 MB off the layer. The models kept are stored
decompressed: botocore reads `x.json` before `x.json.gz`, and un-gzipping the DynamoDB model at every cold
start cost the ingest 0.8% of its init (10.7 M of 1,326 M instructions, measured). A function that starts calling
another service must be added to SERVICES; tests/infra/test_build.py compares the list with the
`aws_clients.client(...)` calls in functions/.

    python -m infra.slim_botocore .build/layer/python
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

SERVICES = ("dynamodb", "events", "lambda", "s3", "sqs")


def slim(site_packages: Path, services: tuple[str, ...] = SERVICES) -> None:
    data = site_packages / "botocore" / "data"
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in services:
            shutil.rmtree(entry)
    for packed in data.rglob("*.json.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    endpoints_file = data / "endpoints.json"
    endpoints = json.loads(endpoints_file.read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in services}
    endpoints_file.write_text(json.dumps(endpoints, separators=(",", ":"), sort_keys=True))


if __name__ == "__main__":
    slim(Path(sys.argv[1]))
