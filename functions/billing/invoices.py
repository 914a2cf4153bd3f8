"""Invoices once written: listing, status, the PDF, and their publication (PDF and JSON to S3,
`invoice.created` on EventBridge), which happens after the invoice's transaction committed. An invoice stays on
the UNRENDERED index until it is published, so a crash in between is repaired by the next cycle-close run."""

from __future__ import annotations

from collections.abc import Callable

from functions.adapters import eventbridge, s3
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


def publish_pending(config: Settings, has_time: Callable[[], bool] = lambda: True) -> int:
    """Renders and announces the invoices a crashed run left unrendered, while `has_time()` (the rest waits for
    the next run: rendering is idempotent, and a sweep must not take the invocation past its timeout)."""
    published = 0
    for org_id, invoice_id in store.unrendered_invoices():
        if not has_time():
            break
        invoice = store.get_invoice(org_id, invoice_id)
        if invoice:
            publish_invoice(config, invoice)
            published += 1
    return published


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
