"""Batch file formats, streamed record by record. Pure (works on any binary file-like object).

- NDJSON: one JSON event per line (`.ndjson`, `.jsonl`).
- JSON array: `[{...}, {...}]` (`.json`), parsed element by element, never loaded whole.
- CSV: a header row; the columns `name`, `timestamp`, `customer_id`, `external_customer_id`, `external_id`
  map to the event's fields, and `metadata.<key>` columns to metadata (typed: integers, decimals and
  `true`/`false` become numbers and booleans, empty cells are left out, anything else is a string).
Each may be gzip-compressed (`.gz`, or detected by its magic bytes). A record's number is its line number in
the file (for CSV the header is line 1; for a JSON array, the element's position).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

GZIP_MAGIC = b"\x1f\x8b"
INT = re.compile(r"^-?\d+$")
FLOAT = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")
EVENT_COLUMNS = ("name", "timestamp", "customer_id", "external_customer_id", "external_id")


class UnsupportedFormat(ValueError):
    pass


def line_external_id(org_id: str, object_key: str, content: str, number: int) -> str:
    """The `external_id` of a line that has none: from the organization, the object key, the content (the
    object's ETag, or a hash of the file's bytes) and the line number. Not from the object version: the same
    bytes put again under the same key (a versioned bucket gives them a new version) are the same events and
    count once; changed content is a new file whose lines are new events."""
    file_hash = hashlib.sha256(f"{org_id}\x00{object_key}\x00{content}".encode()).hexdigest()[:24]
    return f"bulk:{file_hash}:{number}"



@dataclass
class Record:
    number: int
    event: dict[str, Any] | None
    error: str | None = None


def detect(key: str, head: bytes) -> tuple[str, bool]:
    """(format, gzipped) from the key's suffix, else from the first bytes."""
    name = key.lower()
    gzipped = name.endswith(".gz") or head.startswith(GZIP_MAGIC)
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, kind in ((".ndjson", "ndjson"), (".jsonl", "ndjson"), (".csv", "csv"), (".json", "json")):
        if name.endswith(suffix):
            return kind, gzipped
    sample = gzip.decompress(head) if gzipped and _complete_gzip(head) else head
    text = sample.lstrip()[:1]
    if text == b"[":
        return "json", gzipped
    if text == b"{":
        return "ndjson", gzipped
    if b"," in sample.split(b"\n", 1)[0] and b"name" in sample.split(b"\n", 1)[0]:
        return "csv", gzipped
    raise UnsupportedFormat("not NDJSON, CSV or a JSON array (by suffix or content)")


def _complete_gzip(head: bytes) -> bool:
    try:
        gzip.decompress(head)
        return True
    except Exception:
        return False


def open_text(raw: IO[bytes], gzipped: bool) -> IO[str]:
    stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if gzipped else raw  # type: ignore[assignment]
    return io.TextIOWrapper(stream, encoding="utf-8", newline="")  # type: ignore[arg-type]


def records(kind: str, text: IO[str], after: int = 0) -> Iterator[Record]:
    """The file's records after line (or element) `after`, a resumed file's checkpoint: those before are read
    past, not parsed into events again (a late invocation of a long file would spend its time on them)."""
    if kind == "ndjson":
        yield from _ndjson(text, after)
    elif kind == "csv":
        yield from _csv(text, after)
    elif kind == "json":
        yield from _json_array(text, after=after)
    else:
        raise UnsupportedFormat(kind)


def _object(number: int, text: str) -> Record:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Record(number, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    return _event(number, value)


def _event(number: int, value: Any) -> Record:
    """A parsed line or element as an event, if it is an object of text: `json` reads a \\uD800-\\uDFFF escape
    without its pair into a string no UTF-8 can hold (the API's parser refuses it as invalid JSON), which would
    fail the whole batch where it is stored; a few microseconds a line, against the ~700 an event's write takes."""
    if not isinstance(value, dict):
        return Record(number, None, "not a JSON object")
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return Record(number, None, "invalid JSON: a \\uD800-\\uDFFF escape without its pair is not text")
    return Record(number, value)


def _ndjson(text: IO[str], after: int = 0) -> Iterator[Record]:
    for number, line in enumerate(text, start=1):
        if number > after and line.strip():
            yield _object(number, line)


def _cell(value: str) -> Any:
    if INT.match(value):
        return int(value)
    if FLOAT.match(value):
        number = float(value)
        # A decimal a double cannot hold exactly would be counted as another number: refused, never rounded.
        if Decimal(repr(number)) != Decimal(value):
            raise ValueError(f"{value} has more digits than a number keeps (at most 17 significant)")
        return number
    if value in ("true", "false"):
        return value == "true"
    return value


def _csv(text: IO[str], after: int = 0) -> Iterator[Record]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in EVENT_COLUMNS and not h.startswith("metadata.")]
    if "name" not in header or unknown:
        raise UnsupportedFormat(f"CSV header must have `name` and only {', '.join(EVENT_COLUMNS)} or metadata.<key> "
                                f"columns (unknown: {', '.join(unknown) or 'none'})")
    for row in reader:
        number = reader.line_num
        if number <= after or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Record(number, None, f"expected {len(header)} cells, found {len(row)}")
            continue
        event: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        try:
            for column, cell in zip(header, row, strict=True):
                if cell == "":
                    continue
                if column.startswith("metadata."):
                    metadata[column[len("metadata."):]] = _cell(cell)
                else:
                    event[column] = cell
        except ValueError as exc:
            yield Record(number, None, f"{column}: {exc}")
            continue
        if metadata:
            event["metadata"] = metadata
        yield Record(number, event)


SEPARATORS = re.compile(r"[\s,]*")


def _json_array(text: IO[str], chunk_size: int = 1 << 16, after: int = 0) -> Iterator[Record]:
    """Element by element with raw_decode over a sliding buffer: memory is one element plus one chunk."""
    decoder = json.JSONDecoder()
    buffer = text.read(chunk_size).lstrip()
    if not buffer.startswith("["):
        raise UnsupportedFormat("a .json file must be a JSON array of events")
    pos, number, eof = 1, 0, False
    while True:
        pos = SEPARATORS.match(buffer, pos).end()  # type: ignore[union-attr]
        if pos < len(buffer) and buffer[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError:
            if eof:
                if pos < len(buffer):
                    yield Record(number + 1, None, "invalid JSON (malformed or truncated array)")
                return
            more = text.read(chunk_size)
            eof = not more
            buffer, pos = buffer[pos:] + more, 0
            continue
        number += 1
        pos = end
        if number > after:
            yield _event(number, value)
