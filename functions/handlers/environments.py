"""What each Lambda needs in its environment, checked in its init phase (functions/common/settings.py).

infra/ sets these variables on each function (tests/infra checks it against the synthesized template), and the
local stack passes each function its environment from that template, so a variable missing here is missing in
AWS too. Kept apart from the handler modules so that tests can read the models without running an init phase.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.settings import HandlerEnvironment


@dataclass(frozen=True, slots=True)
class IngestEnvironment(HandlerEnvironment):
    handler = "the ingest function"
    table_name: str
    event_bus_name: str  # customer_meter.threshold_crossed


@dataclass(frozen=True, slots=True)
class ManagementEnvironment(HandlerEnvironment):
    handler = "the management API function"
    table_name: str
    event_bus_name: str  # invoice.created for invoices an API change writes, and the changes' announcements
    invoice_bucket: str  # their PDF and JSON
    webhook_queue_url: str  # redeliveries of webhook events


@dataclass(frozen=True, slots=True)
class PortalEnvironment(HandlerEnvironment):
    handler = "the portal function"
    table_name: str
    event_bus_name: str  # subscription.* announcements of a customer's own changes


@dataclass(frozen=True, slots=True)
class BulkIngestEnvironment(HandlerEnvironment):
    handler = "the bulk-ingest function"
    table_name: str
    event_bus_name: str  # threshold crossings, as ingest


@dataclass(frozen=True, slots=True)
class CycleCloseEnvironment(HandlerEnvironment):
    handler = "the cycle-close function"
    table_name: str
    event_bus_name: str  # the announcements and threshold signals its sweeps publish
    close_queue_url: str  # the subscriptions due, for the close workers
    publish_queue_url: str  # the invoices its sweep queues again, for the invoice publisher
    grace_period_seconds: int  # how long after a period's end it closes (late events still count in it)


@dataclass(frozen=True, slots=True)
class CloseWorkerEnvironment(HandlerEnvironment):
    handler = "the close worker function"
    table_name: str
    event_bus_name: str  # the renewals' announcements
    publish_queue_url: str  # the invoices it writes, for the invoice publisher
    grace_period_seconds: int


@dataclass(frozen=True, slots=True)
class InvoicePublisherEnvironment(HandlerEnvironment):
    handler = "the invoice publisher function"
    table_name: str
    invoice_bucket: str  # the PDF and JSON
    event_bus_name: str  # invoice.created, invoice.paid


@dataclass(frozen=True, slots=True)
class WebhookDeliveryEnvironment(HandlerEnvironment):
    handler = "the webhook delivery function"
    table_name: str
    webhook_queue_url: str  # the queue it reads: a failed delivery's message is made visible again later


# handler module (functions.handlers.<name>) -> its model
ENVIRONMENTS: dict[str, type[HandlerEnvironment]] = {
    "ingest": IngestEnvironment,
    "management": ManagementEnvironment,
    "portal": PortalEnvironment,
    "bulk_ingest": BulkIngestEnvironment,
    "cycle_close": CycleCloseEnvironment,
    "close_worker": CloseWorkerEnvironment,
    "webhook_delivery": WebhookDeliveryEnvironment,
    "invoice_publisher": InvoicePublisherEnvironment,
}
