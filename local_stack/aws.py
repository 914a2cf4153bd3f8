"""Local AWS: the environment the handlers read, moto's server for S3/EventBridge, and the resources.

The table is created from functions/store/table_spec.py, the same definition the CDK storage construct uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError

from functions.store import table_spec
from local_stack.ports import free_port

TABLE_NAME = "meterbill"
BATCH_BUCKET = "meterbill-batch"
INVOICE_BUCKET = "meterbill-invoices"
EVENT_BUS = "meterbill"


@dataclass
class LocalAws:
    dynamodb_endpoint: str
    moto_endpoint: str
    table_name: str = TABLE_NAME
    batch_bucket: str = BATCH_BUCKET
    invoice_bucket: str = INVOICE_BUCKET
    event_bus: str = EVENT_BUS

    def environment(self) -> dict[str, str]:
        """What a Lambda would see, pointed at the local services (boto3 reads AWS_ENDPOINT_URL_<SERVICE>)."""
        return {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "AWS_ENDPOINT_URL_S3": self.moto_endpoint,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.moto_endpoint,
            "TABLE_NAME": self.table_name,
            "BATCH_BUCKET": self.batch_bucket,
            "INVOICE_BUCKET": self.invoice_bucket,
            "EVENT_BUS_NAME": self.event_bus,
            "POWERTOOLS_METRICS_NAMESPACE": "Meterbill",
            "POWERTOOLS_SERVICE_NAME": "meterbill-local",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }

    def export(self) -> None:
        os.environ.update(self.environment())

    def create_resources(self) -> None:
        env = self.environment()
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        dynamodb = session.client("dynamodb", endpoint_url=self.dynamodb_endpoint)
        try:
            dynamodb.create_table(**table_spec.create_table_request(self.table_name))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        s3 = session.client("s3", endpoint_url=self.moto_endpoint)
        for bucket in (self.batch_bucket, self.invoice_bucket):
            try:
                s3.create_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        s3.put_bucket_versioning(Bucket=self.batch_bucket, VersioningConfiguration={"Status": "Enabled"})
        events = session.client("events", endpoint_url=self.moto_endpoint)
        try:
            events.create_event_bus(Name=self.event_bus)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise


def start_moto(port: int | None = None):  # type: ignore[no-untyped-def]
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 poll is noise

    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


@contextmanager
def private_local_aws() -> Iterator[LocalAws]:
    """DynamoDB Local in memory and moto on free ports, exported to this process (tests and benchmarks)."""
    from local_stack.dynamodb_local import DynamoDBLocal

    dynamodb = DynamoDBLocal().start()
    moto_server, moto_endpoint = start_moto()
    aws = LocalAws(dynamodb_endpoint=dynamodb.endpoint, moto_endpoint=moto_endpoint)
    aws.export()
    aws.create_resources()
    try:
        yield aws
    finally:
        moto_server.stop()
        dynamodb.stop()
