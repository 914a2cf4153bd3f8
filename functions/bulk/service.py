"""Bulk ingestion of a batch file: streamed, validated line by line, ingested through the API's code path.

- The organization is the key's second segment: `incoming/{organization_id}/{name}`.
- Lines are validated like API events; a bad line is written to a rejects object with its number and reason,
  and the good lines go in (a line naming an unknown `customer_id` is a bad line).
- A line without an `external_id` gets `bulk:{file}:{line}`, derived from the organization, the key, the
  content (the ETag of the bytes read) and the line number, so a redelivered notification, a resumed run or the
  same bytes put again under the same key cannot count it twice. The version only selects what to read.
- Progress (line, counts) is checkpointed after every batch under a lease that ends with the invocation's own
  deadline. Before the time runs out the run releases the lease and a fresh invocation continues from the
  checkpoint; a run that fails releases it too and says `failed` (Lambda retries it, and the retry resumes); a
  run killed outright holds it at most until its deadline, which a retry waits out.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from functions.adapters import s3
from functions.bulk.formats import Record, UnsupportedFormat, detect, line_external_id, open_text, records
from functions.common.clock import iso, utcnow
from functions.common.errors import ValidationFailed
from functions.events import service as events
from functions.events.schemas import EventCreate, checked_event
from functions.store import bulk as progress_store
from functions.store import organizations

INCOMING = "incoming/"
RESULTS = "results/"
MAX_OBJECT_BYTES = 2 * 1024**3  # 2 GiB: larger files are refused whole; split them
BATCH = 1000
SAFETY_MS = 60_000  # stop and hand over when less than this is left (a quarter of a shorter timeout)
LEASE_MARGIN = timedelta(seconds=2)  # the lease outlives the invocation's deadline by this much
FINISHED = ("done", "rejected", "superseded")


class PrefixedStream(io.RawIOBase):
    """The bytes already peeked at, then the rest of the body."""

    def __init__(self, head: bytes, body: Any) -> None:
        self.head, self.body = head, body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def result_keys(object_key: str) -> tuple[str, str]:
    base = RESULTS + object_key[len(INCOMING):] if object_key.startswith(INCOMING) else RESULTS + object_key
    return f"{base}.result.json", f"{base}.rejects"


def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                     for err in exc.errors())


def _batches(items: Iterator[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest_batch(org_id: str, lines: list[tuple[int, EventCreate]]) -> tuple[int, int, list[dict[str, Any]]]:
    """(inserted, duplicates, rejects). Lines the ingest refuses (unknown customer) are rejected one by one."""
    rejects: list[dict[str, Any]] = []
    while lines:
        try:
            result = events.ingest(org_id, [event for _, event in lines])
            return result.inserted, result.duplicates, rejects
        except ValidationFailed as exc:
            bad = {err["loc"][2]: err["msg"] for err in exc.errors if len(err["loc"]) > 2}
            if not bad:
                raise
            rejects += [{"line": lines[i][0], "reason": msg} for i, msg in bad.items()]
            lines = [line for i, line in enumerate(lines) if i not in bad]
    return 0, 0, rejects


def _claim(bucket: str, object_key: str, version: str, owner: str,
           remaining_ms: Callable[[], int]) -> progress_store.FileProgress | str:
    """The progress to continue from, or why not: `done`/`rejected` (nothing left) or `busy` (another invocation
    holds the file beyond this one's deadline: it is alive and carries on). A lease that ends before this
    invocation's deadline is waited out: its holder is gone (a lease never outlives its invocation), and this
    invocation is the retry that has to resume."""
    while True:
        now = utcnow()
        deadline = now + timedelta(milliseconds=remaining_ms())
        progress = progress_store.claim(bucket, object_key, version, owner, iso(now), iso(deadline + LEASE_MARGIN))
        if progress is not None:
            return progress
        existing = progress_store.get(bucket, object_key, version)
        if existing is None or existing.status in FINISHED:
            return existing.status if existing else "busy"
        if existing.lease_until and existing.lease_until >= iso(deadline):
            return "busy"
        time.sleep(0.5)


def process(bucket: str, object_key: str, version: str, size: int, remaining_ms: Callable[[], int],
            owner: str, etag: str | None = None) -> dict[str, Any]:
    """`version` names the file's progress: the S3 version id, or in an unversioned bucket the ETag (or
    "null"); `etag` is the notification's, so that an ETag is never sent to S3 as a version id."""
    safety_ms = min(SAFETY_MS, remaining_ms() // 4)
    claimed = _claim(bucket, object_key, version, owner, remaining_ms)
    if isinstance(claimed, str):
        return {"key": object_key, "status": claimed, "skipped": True}
    progress = claimed
    started = time.monotonic()
    result_key, rejects_prefix = result_keys(object_key)

    def save(status: str, *, release: bool = False) -> None:
        progress.status = status
        progress.seconds += time.monotonic() - started
        until = utcnow() + timedelta(milliseconds=remaining_ms()) + LEASE_MARGIN
        progress_store.save(bucket, object_key, version, owner, progress, "" if release else iso(until))

    def finish(status: str, reason: str | None = None) -> dict[str, Any]:
        progress.reason = reason
        save(status, release=True)
        summary = {"bucket": bucket, "key": object_key, "version": version, **asdict(progress),
                   "rejects_prefix": rejects_prefix if progress.rejected else None}
        s3.put(bucket, result_key, json.dumps(summary, indent=2).encode(), "application/json")
        return summary

    try:
        return _ingest_file(bucket, object_key, version, etag, size, remaining_ms, safety_ms, progress, save,
                            finish, rejects_prefix)
    except Exception as exc:
        # Said in the result, the lease released: Lambda's retry resumes from the checkpoint at once; after the
        # last retry the file stays `failed` with this reason (and the event is in the on-failure queue).
        finish("failed", f"{type(exc).__name__}: {exc}")
        raise


def _ingest_file(bucket: str, object_key: str, version: str, etag: str | None, size: int,
                 remaining_ms: Callable[[], int],
                 safety_ms: int, progress: progress_store.FileProgress, save: Callable[..., None],
                 finish: Callable[..., dict[str, Any]], rejects_prefix: str) -> dict[str, Any]:
    parts = object_key.split("/")
    if not object_key.startswith(INCOMING) or len(parts) < 3 or organizations.get(parts[1]) is None:
        return finish("rejected", "the key must be incoming/{organization_id}/{file} with a known organization")
    if size > MAX_OBJECT_BYTES:
        return finish("rejected", f"the object is {size} bytes; the limit is {MAX_OBJECT_BYTES} (split the file)")
    org_id = parts[1]
    versioned = version not in ("null", etag) and etag is not None
    try:
        # Versioned: read that version. Unversioned: the current object, pinned to the notified content.
        body, _, content = s3.open_object(bucket, object_key, version if versioned else None,
                                          if_match=None if versioned else etag)
    except s3.Replaced:
        return finish("superseded", "the object was overwritten before it was read; the new content has its "
                                    "own notification")
    head = body.read(4096)
    try:
        kind, gzipped = detect(object_key, head)
        stream = records(kind, open_text(io.BufferedReader(PrefixedStream(head, body), 1 << 20), gzipped),
                         progress.line)
        slowest_ms = 0.0
        for batch in _batches(stream, BATCH):
            # Hand over while there is time for the checkpoint, and never start a batch that might not finish:
            # checked before the first batch too, since a retry that waited out a dead run's lease may start late.
            if remaining_ms() < max(safety_ms, 2 * slowest_ms):
                save("running", release=True)  # the fresh invocation that continues must be able to claim it
                return {"key": object_key, "status": "incomplete", "line": progress.line}
            batch_started = time.monotonic()
            good: list[tuple[int, EventCreate]] = []
            rejects: list[dict[str, Any]] = []
            for record in batch:
                if record.event is None:
                    rejects.append({"line": record.number, "reason": record.error})
                    continue
                if record.event.get("external_id") is None:
                    record.event["external_id"] = line_external_id(org_id, object_key, content, record.number)
                try:
                    good.append((record.number, checked_event(record.event)))
                except ValidationError as exc:
                    rejects.append({"line": record.number, "reason": _reason(exc)})
            inserted, duplicates, refused = ingest_batch(org_id, good)
            rejects += refused
            progress.inserted += inserted
            progress.duplicates += duplicates
            progress.rejected += len(rejects)
            progress.line = batch[-1].number
            _write_rejects(bucket, rejects_prefix, batch[0].number, rejects)
            slowest_ms = max(slowest_ms, (time.monotonic() - batch_started) * 1000)
            save("running")
    except UnsupportedFormat as exc:
        return finish("rejected", str(exc))
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        return finish("rejected", f"unreadable file: {exc}")
    return finish("done")


def _write_rejects(bucket: str, prefix: str, first_line: int, rejects: list[dict[str, Any]]) -> None:
    """One object per batch that had rejects, named by the batch's first line: a resumed batch rewrites the
    same object, so the rejects are exact after any restart."""
    if rejects:
        body = "".join(json.dumps(r) + "\n" for r in sorted(rejects, key=lambda r: r["line"]))
        s3.put(bucket, f"{prefix}/{first_line:010d}.ndjson", body.encode(), "application/x-ndjson")
