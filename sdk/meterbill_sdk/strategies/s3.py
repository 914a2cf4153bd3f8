"""S3 strategy: wrap a boto3 S3 client; uploads and downloads become `s3_transfer` events.

Counted: `put_object` (the body's length), `upload_file` / `upload_fileobj` (the file's size),
`get_object` (the bytes actually read from the body, tracked when the body is exhausted or closed) and
`download_file` / `download_fileobj` (the size written). Everything else passes straight through.
"""

from __future__ import annotations

import os
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve
from meterbill_sdk.strategies.stream import MeteredStream


def _length(body: Any) -> int:
    if body is None:
        return 0
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    if hasattr(body, "seek") and hasattr(body, "tell"):
        here = body.tell()
        body.seek(0, os.SEEK_END)
        size = body.tell() - here
        body.seek(here)
        return int(size)
    return 0


class MeteredS3:
    def __init__(self, client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "s3_transfer"):
        self._client, self._buffer, self._customer, self._event = client, buffer, customer, event_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _track(self, direction: str, size: int, bucket: str, key: str) -> None:
        self._buffer.track(self._event, external_customer_id=resolve(self._customer),
                           metadata={"direction": direction, "bytes": size, "bucket": bucket, "key": key[:500]})

    def put_object(self, **kwargs: Any) -> Any:
        response = self._client.put_object(**kwargs)
        self._track("upload", _length(kwargs.get("Body")), kwargs["Bucket"], kwargs["Key"])
        return response

    def upload_file(self, Filename: str, Bucket: str, Key: str, **kwargs: Any) -> Any:
        response = self._client.upload_file(Filename, Bucket, Key, **kwargs)
        self._track("upload", os.path.getsize(Filename), Bucket, Key)
        return response

    def upload_fileobj(self, Fileobj: Any, Bucket: str, Key: str, **kwargs: Any) -> Any:
        size = _length(Fileobj)
        response = self._client.upload_fileobj(Fileobj, Bucket, Key, **kwargs)
        self._track("upload", size, Bucket, Key)
        return response

    def get_object(self, **kwargs: Any) -> Any:
        response = self._client.get_object(**kwargs)
        bucket, key = kwargs["Bucket"], kwargs["Key"]
        response["Body"] = MeteredStream(response["Body"], on_done=lambda n: self._track("download", n, bucket, key))
        return response

    def download_file(self, Bucket: str, Key: str, Filename: str, **kwargs: Any) -> Any:
        response = self._client.download_file(Bucket, Key, Filename, **kwargs)
        self._track("download", os.path.getsize(Filename), Bucket, Key)
        return response

    def download_fileobj(self, Bucket: str, Key: str, Fileobj: Any, **kwargs: Any) -> Any:
        before = Fileobj.tell() if hasattr(Fileobj, "tell") else 0
        response = self._client.download_fileobj(Bucket, Key, Fileobj, **kwargs)
        after = Fileobj.tell() if hasattr(Fileobj, "tell") else before
        self._track("download", after - before, Bucket, Key)
        return response


def wrap_s3(client: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "s3_transfer") -> MeteredS3:
    return MeteredS3(client, buffer, customer, event_name)
