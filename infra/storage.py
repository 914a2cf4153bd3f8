"""Storage: the one DynamoDB table, the batch and invoice buckets, and the event bus."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from constructs import Construct

from functions.store import table_spec
from infra.names import stack_scoped_name


def _private_bucket(scope: Construct, id: str, *, versioned: bool, logs: s3.IBucket | None) -> s3.Bucket:
    return s3.Bucket(
        scope,
        id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=versioned,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=f"{id.lower()}/" if logs else None,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))] if versioned else None,
    )


class Storage(Construct):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=table_spec.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=table_spec.SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=table_spec.TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in table_spec.GLOBAL_INDEXES:
            self.table.add_global_secondary_index(
                index_name=index["name"],
                partition_key=dynamodb.Attribute(name=index["partition_key"], type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=index["sort_key"], type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        # Access logs of the two data buckets land here; it logs nothing itself (it would log forever).
        self.access_logs = _private_bucket(self, "AccessLogs", versioned=False, logs=None)
        # Versioned so that a batch file's version id makes its line ids deterministic.
        self.batch_bucket = _private_bucket(self, "BatchBucket", versioned=True, logs=self.access_logs)
        self.invoice_bucket = _private_bucket(self, "InvoiceBucket", versioned=True, logs=self.access_logs)
        # Named after the stack, not a fixed name (infra/names.py); the functions read EVENT_BUS_NAME.
        self.bus = events.EventBus(self, "Bus", event_bus_name=stack_scoped_name(self, "events"))
