"""`meterbill ingest FILE`: send a batch file to a running local stack.

Without --bulk the file is streamed here (the same parser as the bulk Lambda) and posted to the API 1,000
events at a time, with a progress bar; with --bulk it is put in the batch bucket under
`incoming/{organization}/` and the stack's watcher hands it to the bulk-ingest handler.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

from functions.bulk.formats import detect, open_text, records


def bulk_upload(state: dict[str, Any], path: Path) -> str:
    key = f"incoming/{state['organization_id']}/{path.name}"
    boto3.client("s3").upload_file(str(path), state["batch_bucket"], key)
    return key


def _bar(done: int, total: int, inserted: int, duplicates: int, rejected: int, started: float) -> None:
    fraction = done / total if total else 1.0
    width = 30
    filled = int(width * fraction)
    rate = inserted / max(1e-9, time.monotonic() - started)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%}  inserted {inserted:,}  "
                     f"duplicates {duplicates:,}  rejected {rejected:,}  {rate:,.0f}/s ")
    sys.stderr.flush()


class CountingReader(io.RawIOBase):
    """Counts the file's bytes read so far (the progress bar), without owning the file."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.position = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def stream_to_api(state: dict[str, Any], path: Path, batch: int = 1000) -> dict[str, int]:
    http = httpx.Client(base_url=state["api_url"], headers={"Authorization": f"Bearer {state['token']}"}, timeout=120)
    total = os.path.getsize(path)
    counts = {"inserted": 0, "duplicates": 0, "rejected": 0}
    started = time.monotonic()
    with path.open("rb") as raw:
        kind, gzipped = detect(path.name, raw.read(4096))
        raw.seek(0)
        reader = CountingReader(raw)
        pending: list[dict[str, Any]] = []

        def flush() -> None:
            response = http.post("/v1/events/ingest", json={"events": pending})
            if response.status_code == 422:
                counts["rejected"] += len(pending)  # the API is all-or-nothing; --bulk rejects line by line
                for error in response.json()["detail"][:3]:
                    sys.stderr.write(f"\n  rejected batch: {error['loc']}: {error['msg']}")
            else:
                response.raise_for_status()
                body = response.json()
                counts["inserted"] += body["inserted"]
                counts["duplicates"] += body["duplicates"]
            pending.clear()
            _bar(reader.position, total, counts["inserted"], counts["duplicates"], counts["rejected"], started)

        for record in records(kind, open_text(io.BufferedReader(reader), gzipped)):
            if record.event is None:
                counts["rejected"] += 1
                continue
            pending.append(record.event)
            if len(pending) == batch:
                flush()
        if pending:
            flush()
    _bar(total, total, counts["inserted"], counts["duplicates"], counts["rejected"], started)
    sys.stderr.write("\n")
    return counts
