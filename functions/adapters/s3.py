"""The S3 adapter: put and get objects (invoice artifacts, batch files). No domain logic."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from functions.common import aws_clients


@cache
def client() -> Any:
    return aws_clients.client("s3")


def put(bucket: str, key: str, body: bytes, content_type: str) -> None:
    client().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def get(bucket: str, key: str) -> bytes:
    return client().get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


class Replaced(Exception):
    """The object no longer has the ETag asked for (an unversioned bucket: it was overwritten since)."""


def open_object(bucket: str, key: str, version_id: str | None = None, if_match: str | None = None
                ) -> tuple[Any, int, str]:
    """A streaming body (read(n) only, nothing buffered whole), the object's size and its ETag (unquoted).
    `version_id` is an S3 version id, never an ETag; `if_match` pins the content read to an ETag."""
    request: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    if if_match:
        request["IfMatch"] = f'"{if_match.strip(chr(34))}"'
    try:
        response = client().get_object(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            raise Replaced(f"{key} no longer has ETag {if_match}") from exc
        raise
    return response["Body"], int(response["ContentLength"]), str(response["ETag"]).strip('"')
