"""The Meterbill stack: one construct per capability."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import Api
from infra.bulk_ingest import BulkIngest
from infra.cycle_close import CycleClose
from infra.invoice_publishing import InvoicePublishing
from infra.lambda_function import Layer
from infra.monitoring import Monitoring
from infra.storage import Storage
from infra.webhooks import Webhooks


class MeterbillStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        # Server access logs are delivered under a bucket policy, not a legacy ACL.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        storage = Storage(self, "Storage")
        layer = Layer(self, "Layer").layer
        api = Api(self, "Api", storage=storage, layer=layer)
        bulk = BulkIngest(self, "BulkIngest", storage=storage, layer=layer)
        publishing = InvoicePublishing(self, "InvoicePublishing", storage=storage, layer=layer)
        cycle = CycleClose(self, "CycleClose", storage=storage, layer=layer, publishing=publishing)
        webhooks = Webhooks(self, "Webhooks", storage=storage, layer=layer)
        webhooks.allow_redelivery(api.functions["management"])
        monitoring = Monitoring(
            self,
            "Monitoring",
            functions={
                **{name.capitalize(): fn.function for name, fn in api.functions.items()},
                "BulkIngest": bulk.handler.function,
                "CycleClose": cycle.handler.function,
                "CloseWorker": cycle.worker.function,
                "WebhookDelivery": webhooks.handler.function,
                "InvoicePublisher": publishing.handler.function,
            },
            queues={
                "BulkIngestFailures": bulk.failures,
                "CycleCloseDeadLetters": cycle.dead_letters,
                "CycleCloseFailures": cycle.failures,
                "CloseDeadLetters": cycle.close_dead_letters,
                "WebhookDeadLetters": webhooks.dead_letters,
                "InvoicePublishingDeadLetters": publishing.dead_letters,
            },
            http_api=api.http_api,
        )
        CfnOutput(self, "ApiUrl", value=api.http_api.api_endpoint)
        CfnOutput(self, "BatchBucketName", value=storage.batch_bucket.bucket_name)
        CfnOutput(self, "TableName", value=storage.table.table_name)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn,
                  description="Subscribe here to receive every alarm")
