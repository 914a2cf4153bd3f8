"""Invoices once written: listing, status, the PDF, and their publication (PDF and JSON to S3,
`invoice.created` on EventBridge), which happens after the invoice's transaction committed: at once for an API
change's invoice, through the publish queue and the invoice publisher Lambda for the cycle close's. An invoice
stays on the UNRENDERED index until it is published, so a crash in between is repaired by the next cycle-close
run, which queues it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from functions.adapters import eventbridge, s3, sqs
from functions.billing import announcements
from functions.billing.announcements import balance_announcements, invoice_paid_detail, invoice_status_announcements
from functions.billing.closing import MAX_ATTEMPTS
from functions.billing.render import invoice_json, invoice_pdf
from functions.common.clock import iso, utcnow
from functions.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed, field_error
from functions.common.retry import pause_before_retry
from functions.common.settings import Settings, settings
from functions.store import billing as store
from functions.store import customers as customer_store
from functions.store.billing import BalanceChange
from functions.store.billing_entities import Invoice
from functions.store.outbox import Announcement


def artifact_keys(invoice: Invoice) -> dict[str, str]:
    base = f"invoices/{invoice.organization_id}/{invoice.id}"
    return {"pdf": f"{base}.pdf", "json": f"{base}.json"}


def publish_invoice(config: Settings, invoice: Invoice) -> None:
    keys = artifact_keys(invoice)
    s3.put(config.invoice_bucket, keys["pdf"], invoice_pdf(invoice), "application/pdf")
    s3.put(config.invoice_bucket, keys["json"], invoice_json(invoice), "application/json")
    eventbridge.publish(config.event_bus_name, "invoice.created", [{
        "invoice_id": invoice.id, "number": invoice.number, "organization_id": invoice.organization_id,
        "customer_id": invoice.customer_id, "subscription_id": invoice.subscription_id,
        "total": invoice.total, "amount_due": invoice.amount_due,
        "status": invoice.status, "currency": invoice.currency, "pdf_key": keys["pdf"],
    }])
    if invoice.status == "paid":  # nothing was due: paid when issued (the same key as a payment recorded later)
        eventbridge.publish(config.event_bus_name, "invoice.paid", [invoice_paid_detail(invoice)])
    store.mark_rendered(invoice.organization_id, invoice.id, keys)


def publish(invoice: Invoice) -> None:
    """The default publisher of the services: with the function's settings."""
    publish_invoice(settings(), invoice)


# Longer than a publication waits in the queue and takes, when nothing fails: the schedule's interval.
QUEUE_AGAIN_AFTER = timedelta(minutes=15)


def publish_later(config: Settings, invoices: list[tuple[str, str]]) -> None:
    """(organization, invoice id) put on the publish queue, for the invoice publisher Lambda: the cycle close
    writes invoices and leaves rendering (the PDF) and announcing to it."""
    sqs.send_batch(config.publish_queue_url, [{"organization_id": org, "invoice_id": inv} for org, inv in invoices])


def publish_queued(config: Settings, org_id: str, invoice_id: str) -> bool:
    """The publisher's step for one queued invoice: rendered and announced unless it already was (a message
    delivered twice, or queued again by the sweep while it waited). False if there is no such invoice."""
    invoice = store.get_invoice(org_id, invoice_id)
    if invoice is None:
        return False
    if not invoice.artifacts:
        publish_invoice(config, invoice)
    return True


def queue_pending(config: Settings, has_time: Callable[[], bool] = lambda: True) -> int:
    """Queues again the invoices still unpublished QUEUE_AGAIN_AFTER after they were written (a worker that
    crashed before queueing them, an API change's invoice whose publishing failed, a message that went to the
    dead-letter queue), while `has_time()`. Younger ones are most likely waiting in the queue; a repeat is
    harmless anyway (`publish_queued` checks)."""
    pending = []
    for org_invoice in store.unrendered_invoices(iso(utcnow() - QUEUE_AGAIN_AFTER)):
        if not has_time():
            break
        pending.append(org_invoice)
    if pending:
        publish_later(config, pending)
    return len(pending)


def list_invoices(org_id: str, customer_id: str | None = None, subscription_id: str | None = None
                  ) -> list[Invoice]:
    """Newest (highest number) first."""
    rows = store.list_invoices(org_id)
    if customer_id:
        rows = [i for i in rows if i.customer_id == customer_id]
    if subscription_id:
        rows = [i for i in rows if i.subscription_id == subscription_id]
    rows.sort(key=lambda i: i.number, reverse=True)
    return rows


def get_invoice(org_id: str, invoice_id: str) -> Invoice:
    invoice = store.get_invoice(org_id, invoice_id)
    if invoice is None:
        raise NotFound("invoice not found")
    return invoice


def set_status(org_id: str, invoice_id: str, status: str) -> Invoice:
    """An open invoice becomes paid, void or uncollectible; any other move is a 422 on `status`. Voiding an
    invoice that took credit from the customer's balance gives it back (docs/billing.md, Customer balance)."""
    invoice = get_invoice(org_id, invoice_id)
    at = iso(utcnow())
    try:
        if status == "void" and invoice.applied_balance < 0:
            written = _void_returning_credit(org_id, invoice, at)
        else:
            written = invoice_status_announcements(invoice, status, at)
            store.set_invoice_status(org_id, invoice_id, status, ("open",), at, written)
    except InvalidTransition as exc:
        raise ValidationFailed([field_error(["body", "status"], str(exc))]) from exc
    announcements.publish(written)
    return get_invoice(org_id, invoice_id)


def _void_returning_credit(org_id: str, invoice: Invoice, at: str) -> list[Announcement]:
    """The void and the credit given back in one transaction; returns what it announced."""
    currency = invoice.currency.lower()
    voided = invoice_status_announcements(invoice, "void", at)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # another invoice moved the balance meanwhile
            pause_before_retry(attempt - 1)
        customer = customer_store.get(org_id, invoice.customer_id)
        if customer is None:  # a deleted customer keeps no balance to give back to
            store.set_invoice_status(org_id, invoice.id, "void", ("open",), at, voided)
            return voided
        balances = {**customer.balance, currency: int(customer.balance.get(currency, 0))
                    - invoice.applied_balance}
        written = voided + balance_announcements(org_id, customer.id, customer.balance, balances,
                                                 customer.balance_version + 1, at)
        if store.void_returning_credit(org_id, invoice.id, customer.id,
                                       BalanceChange(balances, customer.balance_version, customer.balance), at,
                                       written):
            return written
    raise Conflict("the invoice could not be voided under contention; retry")


def pdf(org_id: str, invoice_id: str) -> tuple[Invoice, bytes]:
    """The invoice and its PDF: the one written at publication, rendered on the fly if it is not in S3 yet."""
    invoice = get_invoice(org_id, invoice_id)
    if invoice.artifacts:
        try:
            return invoice, s3.get(settings().invoice_bucket, artifact_keys(invoice)["pdf"])
        except Exception:  # fall back to rendering: the invoice item is the source of truth
            pass
    return invoice, invoice_pdf(invoice)
