"""Local AWS services: DynamoDB Local and moto's server behind the edge, with the template's resources.

`LocalAws` is what tests, benchmarks and `meterbill dev` share: the services, the edge (IAM and the
transaction-conflict rule), and the resources the template declares (table, buckets, queues, bus).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local_stack.dynamodb_local import DynamoDBLocal
from local_stack.edge import ADMIN_ACCESS_KEY, Edge, EdgeConfig, Principal, role_access_key
from local_stack.ports import free_port
from local_stack.s3_persistence import S3Persistence
from local_stack.template import ACCOUNT, REGION, Stack


def admin_environment(endpoint: str) -> dict[str, str]:
    """The operator's credentials (allowed everything), pointed at the edge for every service."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL": endpoint,
    }


def start_moto(port: int | None = None):  # type: ignore[no-untyped-def]
    import logging

    from moto.server import ThreadedMotoServer

    from local_stack import moto_sqs

    moto_sqs.apply()  # SQS's atomic sends, receives and deletes, without moto's cost per queued message
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 poll is noise

    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def _ignore(codes: tuple[str, ...]) -> Any:
    @contextmanager
    def ignoring() -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in codes:
                raise

    return ignoring()


@dataclass
class LocalAws:
    stack: Stack
    state_dir: Path | None = None  # None: nothing is kept across restarts
    dynamodb: DynamoDBLocal | None = None
    edge: Edge | None = None
    moto_server: Any = None
    persistence: S3Persistence | None = None
    environment: dict[str, str] = field(default_factory=dict)

    def start(self) -> LocalAws:
        self.dynamodb = DynamoDBLocal(self.state_dir / "dynamodb" if self.state_dir else None).start()
        self.moto_server, moto_endpoint = start_moto()
        self.persistence = S3Persistence(self.state_dir / "s3") if self.state_dir else None
        principals = {role_access_key(role): Principal(role, statements)
                      for role, statements in self.stack.policies.items()}
        for spec in self.stack.functions.values():  # a role with no policy of its own may do nothing
            principals.setdefault(role_access_key(spec.role), Principal(spec.role, []))
        key_schema = {}
        for name, props in self.stack.tables.items():
            schema = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
            key_schema[name] = (schema["HASH"], schema.get("RANGE"))
        self.edge = Edge(EdgeConfig(dynamodb=self.dynamodb.endpoint, moto=moto_endpoint, key_schema=key_schema,
                                    principals=principals,
                                    on_s3_change=self.persistence.saved if self.persistence else None))
        self.environment = {**admin_environment(self.edge.endpoint), **self.operator_variables()}
        self.create_resources()
        if self.persistence:
            self.persistence.restore()
        return self

    @property
    def endpoint(self) -> str:
        assert self.edge is not None
        return self.edge.endpoint

    def operator_variables(self) -> dict[str, str]:
        """TABLE_NAME, the buckets, the bus, the grace period and the webhook queue, as the functions see them: for
        the operator's commands, and the benchmarks that import a handler in-process (its init checks its
        environment)."""
        variables: dict[str, str] = {}
        for spec in self.stack.functions.values():
            variables.update({k: v for k, v in spec.environment.items()
                              if k in ("TABLE_NAME", "BATCH_BUCKET", "INVOICE_BUCKET", "EVENT_BUS_NAME",
                                       "GRACE_PERIOD_SECONDS", "WEBHOOK_QUEUE_URL")})
        return variables

    @property
    def table_name(self) -> str:
        return self.operator_variables()["TABLE_NAME"]

    @property
    def batch_bucket(self) -> str:
        return self.operator_variables()["BATCH_BUCKET"]

    @property
    def invoice_bucket(self) -> str:
        return self.operator_variables()["INVOICE_BUCKET"]

    @property
    def event_bus(self) -> str:
        return self.operator_variables()["EVENT_BUS_NAME"]

    def client(self, service: str) -> Any:
        return boto3.session.Session(aws_access_key_id=ADMIN_ACCESS_KEY, aws_secret_access_key="local",
                                     region_name=REGION).client(service, endpoint_url=self.endpoint)

    def export(self) -> None:
        """This process becomes the operator (tests and `meterbill` commands call the store directly)."""
        os.environ.update(self.environment)

    def create_resources(self) -> None:
        dynamodb = self.client("dynamodb")
        for name, props in self.stack.tables.items():
            request = create_table_request(name, props)
            try:
                dynamodb.create_table(**request)
            except dynamodb.exceptions.ResourceInUseException:
                add_missing_indexes(dynamodb, request)
        s3 = self.client("s3")
        for name, props in self.stack.buckets.items():
            with _ignore(("BucketAlreadyOwnedByYou", "BucketAlreadyExists")):
                s3.create_bucket(Bucket=name)
            if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        sqs = self.client("sqs")
        for queue in self.stack.queues:  # dead-letter queues exist before a redrive policy names them
            sqs.create_queue(QueueName=queue.name, Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout), "MessageRetentionPeriod": str(queue.retention),
                **({"FifoQueue": "true"} if queue.fifo else {})})
        for queue in self.stack.queues:
            if queue.dead_letter_queue:
                sqs.set_queue_attributes(QueueUrl=self.queue_url(queue.name), Attributes={"RedrivePolicy": json.dumps({
                    "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue.dead_letter_queue}",
                    "maxReceiveCount": queue.max_receive_count})})
        events = self.client("events")
        for name in self.stack.buses:
            with _ignore(("ResourceAlreadyExistsException",)):
                events.create_event_bus(Name=name)
        for rule in self.stack.rules:  # moto's bus sends what matches a rule to its SQS targets, as EventBridge
            events.put_rule(Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))
            events.put_targets(Rule=rule.name, EventBusName=rule.bus,
                               Targets=[{"Id": f"q{i}", "Arn": arn} for i, arn in enumerate(rule.queues)])

    def queue_url(self, name: str) -> str:
        return f"{self.endpoint}/{ACCOUNT}/{name}"

    def stop(self) -> None:
        if self.edge:
            self.edge.stop()
        if self.moto_server:
            self.moto_server.stop()
        if self.dynamodb:
            self.dynamodb.stop()


def create_table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """CreateTable's arguments for a table of the template (its `Properties`)."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
            for index in props["GlobalSecondaryIndexes"]
        ]
    return request


def add_missing_indexes(dynamodb: Any, request: dict[str, Any]) -> None:
    """A table kept from an earlier run (a state dir) gets the indexes the template added since, one per
    UpdateTable and each waited for until ACTIVE, as a CloudFormation update of the table does (DynamoDB
    creates one index at a time and backfills it from the items already there)."""
    name = request["TableName"]
    for index in request.get("GlobalSecondaryIndexes", []):
        table = dynamodb.describe_table(TableName=name)["Table"]
        have = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        if index["IndexName"] in have:
            continue
        keys = {k["AttributeName"] for k in index["KeySchema"]}
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in request["AttributeDefinitions"] if a["AttributeName"] in keys],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        for _ in range(600):
            table = dynamodb.describe_table(TableName=name)["Table"]
            statuses = [i.get("IndexStatus") for i in table.get("GlobalSecondaryIndexes", [])
                        if i["IndexName"] == index["IndexName"]]
            if statuses == ["ACTIVE"]:
                break
            time.sleep(0.1)
