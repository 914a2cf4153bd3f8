"""`meterbill ingest FILE`: send a batch file to a running local stack.

Without --bulk the file is streamed here (the same parser as the bulk Lambda) and posted to the API 1,000
events at a time, with a progress bar; with --bulk it is put in the batch bucket under
`incoming/{organization}/` and the stack's watcher hands it to the bulk-ingest handler.

Streaming follows the bulk Lambda's rule: a bad line is refused alone, with its line number and reason (printed,
and written to the rejects file), and the good lines go in. The API validates a request all-or-nothing, so
when it answers 422 the events it names are refused and the rest of the batch is sent again. A line without
`external_id` gets one from the file's name, content and line number (functions/bulk/formats.py), so running
the same file twice, or streaming it and then putting it in the bucket, counts every line once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import httpx

from functions.bulk.formats import detect, line_external_id, open_text, records

BATCH = 1000
PRINTED_REJECTS = 100  # beyond this many, the rejects file holds the rest (a bad export can refuse millions)
ATTEMPTS = 8  # for 409/429/5xx; safe to resend, every event carries an external_id


class IngestStopped(Exception):
    """The API failed in a way no retry fixed; what was sent before stays (resending is idempotent)."""


def object_key(org_id: str, path: Path) -> str:
    return f"incoming/{org_id}/{path.name}"


def file_md5(path: Path) -> str:
    """The content identity of the file: its MD5, which is what S3 gives a single-part upload as its ETag."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def bulk_upload(state: dict[str, Any], path: Path) -> str:
    # One PUT (not a multipart upload, up to S3's 5 GB; batch files stop at 2 GiB): the ETag is then the MD5
    # of the bytes, the same content identity a streamed run uses, so the lines get the same ids either way.
    key = object_key(state["organization_id"], path)
    with path.open("rb") as body:
        boto3.client("s3").put_object(Bucket=state["batch_bucket"], Key=key, Body=body)
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


@dataclass
class Rejects:
    """Refused lines: printed (the first PRINTED_REJECTS) and written, one JSON object a line, to `path`. Held
    per batch and written in line order (the API names a batch's bad events one kind of error at a time)."""

    path: Path
    count: int = 0
    file: IO[str] | None = None
    printed: int = 0
    printed_note: bool = False
    pending: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        self.pending.append((line, reason))

    def flush(self) -> None:
        if self.pending and self.file is None:
            self.file = self.path.open("w")
        for line, reason in sorted(self.pending):
            self.file.write(json.dumps({"line": line, "reason": reason}) + "\n")  # type: ignore[union-attr]
            self.printed += 1
            if self.printed <= PRINTED_REJECTS:
                sys.stderr.write(f"\n  line {line}: {reason}")
            elif not self.printed_note:
                self.printed_note = True
                sys.stderr.write(f"\n  ... more refused lines are in {self.path}")
        self.pending.clear()

    def close(self) -> None:
        self.flush()
        if self.file is not None:
            self.file.close()
        elif self.path.exists():
            self.path.unlink()  # an earlier run's rejects; this run refused nothing


def _reason(error: dict[str, Any]) -> str:
    field_path = ".".join(str(p) for p in error["loc"][3:])
    return f"{field_path}: {error['msg']}" if field_path else str(error["msg"])


def _post(http: httpx.Client, events: list[dict[str, Any]]) -> httpx.Response:
    """One request, retried on contention, throttling and faults (honouring Retry-After)."""
    for attempt in range(ATTEMPTS):
        response = http.post("/v1/events/ingest", json={"events": events})
        if response.status_code not in (409, 429) and response.status_code < 500:
            return response
        wait = response.headers.get("retry-after")
        time.sleep(float(wait) if wait and wait.replace(".", "", 1).isdigit() else min(10.0, 0.2 * 2**attempt))
    raise IngestStopped(f"the API kept answering {response.status_code}: {response.text[:300]}")


def send(http: httpx.Client, batch: list[tuple[int, dict[str, Any]]], rejects: Rejects) -> tuple[int, int]:
    """(inserted, duplicates) for a batch of (line number, event); the events the API refuses are rejected
    one by one, with their line numbers, and the rest is sent again."""
    while batch:
        response = _post(http, [event for _, event in batch])
        if response.status_code == 200:
            body = response.json()
            return body["inserted"], body["duplicates"]
        if response.status_code in (401, 403):
            raise IngestStopped(f"the API refused the token ({response.status_code}): is this the stack's state?")
        if response.status_code != 422:
            raise IngestStopped(f"the API answered {response.status_code}: {response.text[:300]}")
        reasons: dict[int, list[str]] = {}
        unplaced: list[str] = []
        for error in response.json().get("detail", []):
            loc = error.get("loc", [])
            if len(loc) >= 3 and loc[:2] == ["body", "events"] and isinstance(loc[2], int) and loc[2] < len(batch):
                reasons.setdefault(loc[2], []).append(_reason(error))
            else:
                unplaced.append(str(error.get("msg")))
        if not reasons:
            # A refusal that names no event cannot be narrowed down: refuse the batch, loudly, rather than loop.
            for number, _ in batch:
                rejects.add(number, "; ".join(unplaced) or "refused by the API")
            return 0, 0
        for index in sorted(reasons):
            rejects.add(batch[index][0], "; ".join(reasons[index]))
        batch = [line for i, line in enumerate(batch) if i not in reasons]
    return 0, 0


def stream_to_api(state: dict[str, Any], path: Path, rejects_path: Path, batch_size: int = BATCH) -> dict[str, int]:
    """Raises UnsupportedFormat, OSError (the file) and IngestStopped (the API); the caller reports them."""
    total = os.path.getsize(path)
    with path.open("rb") as raw:
        kind, gzipped = detect(path.name, raw.read(4096))
    key, content = object_key(state["organization_id"], path), file_md5(path)
    http = httpx.Client(base_url=state["api_url"], headers={"Authorization": f"Bearer {state['token']}"},
                        timeout=120)
    counts = {"inserted": 0, "duplicates": 0, "rejected": 0}
    rejects = Rejects(rejects_path)
    started = time.monotonic()
    try:
        with path.open("rb") as raw:
            reader = CountingReader(raw)
            pending: list[tuple[int, dict[str, Any]]] = []

            def flush() -> None:
                inserted, duplicates = send(http, pending, rejects)
                rejects.flush()
                counts["inserted"] += inserted
                counts["duplicates"] += duplicates
                counts["rejected"] = rejects.count
                pending.clear()
                _bar(reader.position, total, counts["inserted"], counts["duplicates"], counts["rejected"], started)

            for record in records(kind, open_text(io.BufferedReader(reader), gzipped)):
                if record.event is None:
                    rejects.add(record.number, record.error or "unreadable line")
                    continue
                if record.event.get("external_id") is None:
                    record.event["external_id"] = line_external_id(state["organization_id"], key, content,
                                                                   record.number)
                pending.append((record.number, record.event))
                if len(pending) == batch_size:
                    flush()
            if pending:
                flush()
    finally:
        rejects.close()
        counts["rejected"] = rejects.count
    _bar(total, total, counts["inserted"], counts["duplicates"], counts["rejected"], started)
    sys.stderr.write("\n")
    if rejects.count:
        sys.stderr.write(f"{rejects.count:,} line(s) refused; they are listed in {rejects_path}\n")
    return counts
