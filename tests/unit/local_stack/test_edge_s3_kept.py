"""An S3 write the local stack acknowledges is kept first: a stack killed right after the answer keeps it."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest

from local_stack.aws import start_moto
from local_stack.edge import ADMIN_ACCESS_KEY, Edge, EdgeConfig


def test_the_writer_hears_stored_only_after_the_object_is_kept() -> None:
    kept: list[tuple[str, str]] = []

    def keep_slowly(bucket: str, key: str) -> None:  # a disk that takes its time
        time.sleep(0.3)
        kept.append((bucket, key))

    server, moto = start_moto()
    edge = Edge(EdgeConfig(dynamodb="http://127.0.0.1:9", moto=moto, key_schema={}, on_s3_change=keep_slowly))
    try:
        s3 = boto3.client("s3", endpoint_url=edge.endpoint, region_name="us-east-1",
                          aws_access_key_id=ADMIN_ACCESS_KEY, aws_secret_access_key="local")
        bucket = f"kept-{uuid.uuid4().hex[:12]}"  # moto's S3 is shared by every server in this process
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="results/a.json", Body=b"{}")
        assert kept == [(bucket, "results/a.json")]  # on disk before put_object returned
        s3.delete_object(Bucket=bucket, Key="results/a.json")
        assert kept == [(bucket, "results/a.json")] * 2  # a delete is kept too
        with pytest.raises(s3.exceptions.NoSuchBucket):
            s3.put_object(Bucket=f"{bucket}-missing", Key="x", Body=b"")
        assert len(kept) == 2  # a refused write changes nothing to keep
    finally:
        edge.stop()
        server.stop()
