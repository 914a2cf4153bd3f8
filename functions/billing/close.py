"""The cycle close run: every subscription due (through GSI1, never a Scan), then each invoice published.

Publishing (PDF and JSON to S3, `invoice.created` on EventBridge) happens after the invoice's transaction
committed. An invoice stays on the UNRENDERED index until it is published, so a crash in between is repaired
by the next run: published at least once, and the S3 keys and the event's id make a repeat harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from functions.adapters import eventbridge, s3
from functions.billing.render import invoice_json, invoice_pdf
from functions.billing.service import close_subscription
from functions.common.clock import iso, utcnow
from functions.common.settings import Settings
from functions.meters import service as meters
from functions.store import billing as store
from functions.thresholds import service as thresholds

logger = Logger()


def artifact_keys(invoice: dict[str, Any]) -> dict[str, str]:
    base = f"invoices/{invoice['organization_id']}/{invoice['id']}"
    return {"pdf": f"{base}.pdf", "json": f"{base}.json"}


def publish_invoice(settings: Settings, invoice: dict[str, Any]) -> None:
    keys = artifact_keys(invoice)
    s3.put(settings.invoice_bucket, keys["pdf"], invoice_pdf(invoice), "application/pdf")
    s3.put(settings.invoice_bucket, keys["json"], invoice_json(invoice), "application/json")
    eventbridge.publish(settings.event_bus_name, "invoice.created", [{
        "invoice_id": invoice["id"], "number": invoice["number"], "organization_id": invoice["organization_id"],
        "customer_id": invoice["customer_id"], "subscription_id": invoice["subscription_id"],
        "total": invoice["total"], "currency": invoice["currency"], "pdf_key": keys["pdf"],
    }])
    store.mark_rendered(invoice["organization_id"], invoice["id"], keys)


def publish_pending(settings: Settings) -> int:
    published = 0
    for org_id, invoice_id in store.unrendered_invoices():
        invoice = store.get_invoice(org_id, invoice_id)
        if invoice:
            publish_invoice(settings, invoice)
            published += 1
    return published


SAFETY_MS = 60_000  # hand the rest over when less than this is left (a quarter of a shorter timeout)


def run(settings: Settings, as_of: datetime, remaining_ms: Callable[[], int] | None = None,
        after: str | None = None) -> dict[str, Any]:
    """Closes what is due as of `as_of`. With `remaining_ms`, stops while time is left and returns `continue_after`
    (the position reached): a fresh invocation continues from there, so any number of due subscriptions fits."""
    cutoff = as_of - timedelta(seconds=settings.grace_period_seconds)
    cache: dict[str, Any] = {}
    closed, skipped, failed = 0, 0, 0
    safety_ms = min(SAFETY_MS, remaining_ms() // 4) if remaining_ms else 0
    for org_id, subscription_id, position in store.due_subscriptions(iso(cutoff), after):
        if remaining_ms and remaining_ms() < safety_ms:
            return {"as_of": iso(as_of), "closed": closed, "skipped": skipped, "failed": failed,
                    "continue_after": after}
        after = position
        try:
            # A long-overdue subscription closes one period per pass until it is current.
            for _ in range(120):
                result = close_subscription(org_id, subscription_id, cutoff, cache)
                if not result.written:
                    skipped += 1
                    break
                closed += 1
                if result.invoice:
                    publish_invoice(settings, result.invoice)
                if result.next_period_end is None or result.next_period_end > iso(cutoff):
                    break
        except Exception:
            # One bad subscription must not stop the others; the alarm on errors and the next run see it.
            logger.exception("closing failed", extra={"subscription_id": subscription_id, "organization_id": org_id})
            failed += 1
    published = publish_pending(settings)
    signals = thresholds.publish_pending()
    backfills = meters.catch_up_backfills(utcnow())
    return {"as_of": iso(as_of), "closed": closed, "skipped": skipped, "failed": failed, "continue_after": None,
            "republished": published, "threshold_signals_republished": signals, "backfills_caught_up": backfills}
