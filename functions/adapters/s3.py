"""The S3 adapter: put and get objects (invoice artifacts, batch files). No domain logic."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client() -> Any:
    return boto3.client("s3")


def put(bucket: str, key: str, body: bytes, content_type: str) -> None:
    client().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def get(bucket: str, key: str) -> bytes:
    return client().get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def open_object(bucket: str, key: str, version: str | None = None) -> tuple[Any, int]:
    """A streaming body (read(n) only, nothing buffered whole) and the object's size."""
    request: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version:
        request["VersionId"] = version
    response = client().get_object(**request)
    return response["Body"], int(response["ContentLength"])
