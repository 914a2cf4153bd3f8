"""The local stand-ins for AWS triggers: S3 ObjectCreated and the EventBridge schedule call the real handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from functions.common.settings import settings
from local_stack.lambda_context import LocalContext

INCOMING_PREFIX = "incoming/"


def s3_event(bucket: str, key: str, size: int, etag: str, version_id: str | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "size": size, "eTag": etag}
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                       "object": obj},
            }
        ]
    }


def watch_batch_bucket() -> Callable[[], None]:
    """Hands each new object under incoming/ to the bulk-ingest handler once per version."""
    from functions.handlers import bulk_ingest

    seen: set[tuple[str, str]] = set()

    def tick() -> None:
        bucket = settings().batch_bucket
        s3 = boto3.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=INCOMING_PREFIX):
            for version in page.get("Versions", []):
                marker = (version["Key"], version.get("VersionId") or version["ETag"])
                if marker in seen or not version.get("IsLatest", True):
                    continue
                event = s3_event(bucket, version["Key"], version["Size"], version["ETag"].strip('"'),
                                 version.get("VersionId"))
                result = bulk_ingest.handler(event, LocalContext(function_name="meterbill-bulk-ingest",
                                                                 timeout_seconds=900))
                # An incomplete file is delivered again on the next tick, as a fresh invocation would continue it.
                if all(f["status"] != "incomplete" for f in result["files"]):
                    seen.add(marker)

    return tick


def close_cycles(as_of: str | None = None) -> dict[str, Any]:
    from functions.handlers import cycle_close

    event: dict[str, Any] = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    if as_of:
        event["as_of"] = as_of
    return cycle_close.handler(event, LocalContext(function_name="meterbill-cycle-close", timeout_seconds=900))
