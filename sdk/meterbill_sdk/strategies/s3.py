"""S3 strategy: wrap a boto3 S3 client; uploads and downloads become `s3_transfer` events.

Counted, whatever the body:
- `put_object`: bytes, bytearray, memoryview, str (its UTF-8 length), a file object (what is left from its
  current position, measured before boto3 reads it), or any other readable (the bytes boto3 actually read).
- `upload_file`, `upload_fileobj`, `download_file`, `download_fileobj`: the bytes s3transfer reports through
  its progress `Callback` (chained to the caller's own), so multipart transfers, out-of-order part writes and
  retried parts (s3transfer reports a retry's rollback as negative progress) all add up to the object's size.
- `get_object`: the bytes actually read from the body, tracked when the body is exhausted or closed.
Everything else passes straight through.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve
from meterbill_sdk.strategies.stream import MeteredStream


class _Progress:
    """Sums s3transfer's progress callbacks (called from its worker threads)."""

    def __init__(self, chained: Callable[[int], Any] | None) -> None:
        self.total, self._chained, self._lock = 0, chained, threading.Lock()

    def __call__(self, amount: int) -> None:
        with self._lock:
            self.total += amount
        if self._chained is not None:
            self._chained(amount)


class _CountingReader:
    """A non-seekable body: count what boto3 reads from it."""

    def __init__(self, raw: Any) -> None:
        self._raw, self.count = raw, 0

    def read(self, *args: Any) -> Any:
        data = self._raw.read(*args)
        self.count += len(data) if data else 0
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _size_before(body: Any) -> int | None:
    """The byte size of a body known before sending it, or None (then it is counted while read)."""
    if body is None:
        return 0
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, memoryview):
        return body.nbytes
    if isinstance(body, str):
        return len(body.encode())
    seekable = getattr(body, "seekable", None)
    if callable(seekable) and seekable() or not callable(seekable) and hasattr(body, "seek") and hasattr(body, "tell"):
        here = body.tell()
        end = body.seek(0, os.SEEK_END)
        body.seek(here)
        return int(end - here)
    return None


class MeteredS3:
    def __init__(self, client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "s3_transfer"):
        self._client, self._buffer, self._customer, self._event = client, buffer, customer, event_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _track(self, direction: str, size: int, bucket: str, key: str) -> None:
        self._buffer.track(self._event, external_customer_id=resolve(self._customer),
                           metadata={"direction": direction, "bytes": size, "bucket": bucket, "key": key[:500]})

    def put_object(self, **kwargs: Any) -> Any:
        body = kwargs.get("Body")
        size = _size_before(body)
        reader = None if size is not None else _CountingReader(body)
        if reader is not None:
            kwargs["Body"] = reader
        response = self._client.put_object(**kwargs)
        self._track("upload", reader.count if reader is not None else size or 0, kwargs["Bucket"], kwargs["Key"])
        return response

    def _transfer(self, method: str, direction: str, bucket: str, key: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
        progress = _Progress(kwargs.get("Callback"))
        kwargs["Callback"] = progress
        response = getattr(self._client, method)(*args, **kwargs)
        self._track(direction, progress.total, bucket, key)
        return response

    def upload_file(self, Filename: str, Bucket: str, Key: str, **kwargs: Any) -> Any:  # noqa: N803 - boto3's names
        return self._transfer("upload_file", "upload", Bucket, Key, (Filename, Bucket, Key), kwargs)

    def upload_fileobj(self, Fileobj: Any, Bucket: str, Key: str, **kwargs: Any) -> Any:  # noqa: N803
        return self._transfer("upload_fileobj", "upload", Bucket, Key, (Fileobj, Bucket, Key), kwargs)

    def download_file(self, Bucket: str, Key: str, Filename: str, **kwargs: Any) -> Any:  # noqa: N803
        return self._transfer("download_file", "download", Bucket, Key, (Bucket, Key, Filename), kwargs)

    def download_fileobj(self, Bucket: str, Key: str, Fileobj: Any, **kwargs: Any) -> Any:  # noqa: N803
        return self._transfer("download_fileobj", "download", Bucket, Key, (Bucket, Key, Fileobj), kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        response = self._client.get_object(**kwargs)
        bucket, key = kwargs["Bucket"], kwargs["Key"]
        response["Body"] = MeteredStream(response["Body"], on_done=lambda n: self._track("download", n, bucket, key))
        return response


def wrap_s3(client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "s3_transfer") -> MeteredS3:
    return MeteredS3(client, buffer, customer, event_name)
