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
