"""The HTTP API and its three Lambdas (ingest, management, portal), routed by functions/handlers/routes.py."""

from __future__ import annotations

from typing import cast

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.handlers.routes import FUNCTIONS, ROUTES
from functions.store import table_spec
from infra.lambda_function import MeterbillFunction
from infra.storage import Storage

# Stage-wide limits for every route (HTTP APIs have no per-client usage plans). 500 requests in one instant
# and 500 a second keep the API's Lambdas within half of an account's default 1,000 concurrent executions
# (a request takes well under a second), leaving the rest to bulk ingest and the cycle close; one request
# carries up to 1,000 events, so this is far above the ingest rate one table partition can take anyway.
# A throttled client gets 429, which the SDK retries with backoff.
THROTTLE_RATE_PER_SECOND = 500
THROTTLE_BURST = 500

# Same as Polar's public API: any origin may call with a bearer token, and no origin gets credentials. The
# portal page itself is served from this API's origin and needs no CORS; this is for a merchant's own page
# calling /v1/customer-portal/* with a customer session token. Without credentials a browser never attaches
# the portal's (SameSite=Lax) session cookie to another site's request, nor lets it read the answer, so no
# route that accepts the cookie becomes readable cross-site. HTTP APIs configure CORS for the whole API,
# which is what Polar does too (organization tokens are bearer tokens as well, never ambient).
CORS = apigw.CorsPreflightOptions(
    allow_origins=["*"],
    allow_methods=[apigw.CorsHttpMethod.ANY],
    allow_headers=["authorization", "content-type"],
    allow_credentials=False,
    max_age=Duration.minutes(10),
)

# The organization's and the customer's data, as the code reads and writes it (docs/operations.md says which
# code needs which action).
INGEST_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                        "dynamodb:UpdateItem")
MANAGEMENT_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                            "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
# The portal reads, and writes only what a customer's self-service changes: a subscription change in one
# transaction (Put of the subscription, Update of the customer's billing state), the billing details (Update),
# the audit entry (Put), and the announcements of its subscription changes (a Put in that transaction, then a
# Put marking them published). No Delete, no batch writes, no index, no S3: a customer's plan change is
# prorated onto the next invoice, so the portal never issues (and publishes) an invoice.
PORTAL_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
INVOICE_OBJECTS = "invoices/*"  # functions/billing/close.py: invoices/{organization}/{invoice}.pdf|json


class Api(Construct):
    def __init__(self, scope: Construct, id: str, *, storage: Storage, layer: lambda_.ILayerVersion) -> None:
        super().__init__(scope, id)
        self.http_api = apigw.HttpApi(self, "HttpApi", description="Meterbill public API", cors_preflight=CORS)
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
        # Ingest writes events and aggregates in transactions and announces threshold crossings.
        ingest.grant_table(storage.table, INGEST_TABLE_ACTIONS)
        storage.bus.grant_put_events_to(ingest.role)
        # Management reads and writes every entity; the meter backfill writes unique-value markers in batches;
        # an invoice an API call writes is published (stored PDF and JSON, invoice.created), and the stored
        # PDF is downloaded. No index query: the service publishes the invoice it wrote, and the cycle close
        # (which reads the index of invoices not yet published) repairs a failed publication.
        # GSI2: a customer's events by time (the event listing)
        management.grant_table(storage.table, MANAGEMENT_TABLE_ACTIONS, indexes=[table_spec.GSI2])
        management.grant_objects(storage.invoice_bucket, ("s3:PutObject", "s3:GetObject"), INVOICE_OBJECTS)
        storage.bus.grant_put_events_to(management.role)
        # The portal renders an invoice's PDF itself and never touches S3; on the bus it announces a customer's
        # cancellation or plan change (subscription.* webhooks) as the management API does.
        portal.grant_table(storage.table, PORTAL_TABLE_ACTIONS)
        storage.bus.grant_put_events_to(portal.role)

        integration = {
            name: integrations.HttpLambdaIntegration(f"{name.capitalize()}Integration", fn.function)
            for name, fn in self.functions.items()
        }
        for route in ROUTES:
            methods = [apigw.HttpMethod.ANY] if route.method == "ANY" else [apigw.HttpMethod(route.method)]
            self.http_api.add_routes(path=route.path, methods=methods, integration=integration[route.function])

        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        assert self.http_api.default_stage is not None
        stage = cast(apigw.CfnStage, self.http_api.default_stage.node.default_child)
        stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format='{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
            '"route":"$context.routeKey","status":"$context.status","latency":"$context.integrationLatency"}',
        )
        stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=THROTTLE_RATE_PER_SECOND, throttling_burst_limit=THROTTLE_BURST
        )
