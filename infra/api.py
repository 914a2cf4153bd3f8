"""The HTTP API and its three Lambdas (ingest, management, portal), routed by functions/handlers/routes.py."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.handlers.routes import FUNCTIONS, ROUTES
from infra.lambda_function import TABLE_READ, TABLE_WRITE, MeterbillFunction
from infra.storage import Storage


class Api(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.http_api = apigw.HttpApi(self, "HttpApi", description="Meterbill public API")
        environment = {
            "TABLE_NAME": storage.table.table_name,
            "EVENT_BUS_NAME": storage.bus.event_bus_name,
            "INVOICE_BUCKET": storage.invoice_bucket.bucket_name,
            "PUBLIC_URL": self.http_api.api_endpoint,
        }
        self.functions: dict[str, MeterbillFunction] = {
            name: MeterbillFunction(
                self, name.capitalize(), handler=FUNCTIONS[name], layer=layer, environment=environment
            )
            for name in FUNCTIONS
        }
        ingest, management, portal = (self.functions[n] for n in ("ingest", "management", "portal"))
        # Ingest writes events and aggregates and announces threshold crossings.
        ingest.grant_table(storage.table, TABLE_READ + ("dynamodb:PutItem", "dynamodb:UpdateItem"))
        storage.bus.grant_put_events_to(ingest.function)
        # Management reads and writes every entity (meters, customers, sessions, billing objects).
        management.grant_table(storage.table, TABLE_READ + TABLE_WRITE)
        storage.invoice_bucket.grant_read(management.function)
        storage.invoice_bucket.grant_put(management.function)  # invoices written by API changes
        storage.bus.grant_put_events_to(management.function)
        # The portal only reads, and downloads invoice PDFs.
        portal.grant_table(storage.table, TABLE_READ)
        storage.invoice_bucket.grant_read(portal.function)

        integration = {
            name: integrations.HttpLambdaIntegration(f"{name.capitalize()}Integration", fn.function)
            for name, fn in self.functions.items()
        }
        for route in ROUTES:
            methods = [apigw.HttpMethod.ANY] if route.method == "ANY" else [apigw.HttpMethod(route.method)]
            self.http_api.add_routes(path=route.path, methods=methods, integration=integration[route.function])

        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        stage = self.http_api.default_stage.node.default_child  # type: ignore[union-attr]
        stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(  # type: ignore[union-attr]
            destination_arn=access_logs.log_group_arn,
            format='{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
            '"route":"$context.routeKey","status":"$context.status","latency":"$context.integrationLatency"}',
        )
