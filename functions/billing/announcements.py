"""What a billing change announces on the bus, as Polar's webhooks name the facts (docs/api.md, Webhooks): a
subscription created, updated, cancelled, uncancelled or revoked; an invoice paid or changed; a customer's credit
balance appearing or used up. The rules are pure; the announcements are written in the change's own transaction
(store/outbox.py) and published after it committed (`publish`), or by the cycle close's sweep (`publish_pending`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict

from aws_lambda_powertools import Logger

from functions.adapters import eventbridge
from functions.common.settings import settings
from functions.store import outbox
from functions.store.billing_entities import Invoice, Subscription
from functions.store.outbox import Announcement

logger = Logger()


def _digest(values: dict) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:20]


def subscription_changes(before: Subscription | None, after: Subscription) -> list[str]:
    """Polar's subscription webhook types for one change: `created` and `active` for a new subscription (active at
    once: Meterbill takes no payment first); `updated` for every later change (a renewal, a product change, a
    cancellation), and with it the specific one: `canceled` when it is set to end (at the period's end, or now),
    `uncanceled` when that is taken back, `revoked` when it has ended."""
    if before is None:
        return ["subscription.created", "subscription.active"]
    types = ["subscription.updated"]
    if before.active and not after.active:
        if not before.cancel_at_period_end:  # ended now without an earlier cancellation: both
            types.append("subscription.canceled")
        types.append("subscription.revoked")
    elif after.cancel_at_period_end and not before.cancel_at_period_end:
        types.append("subscription.canceled")
    elif before.cancel_at_period_end and not after.cancel_at_period_end:
        types.append("subscription.uncanceled")
    return types


def subscription_announcements(before: Subscription | None, after: Subscription, at: str) -> list[Announcement]:
    """The subscription as it is after the change travels with each: the webhook carries the state the change
    made, not a later one. The key is the change's (the subscription as written): a retried write is the same."""
    snapshot = asdict(after)
    change = _digest(snapshot)
    return [Announcement(after.organization_id, f"{t}:{after.id}:{change}", t,
                         {"organization_id": after.organization_id, "customer_id": after.customer_id,
                          "subscription": snapshot}, at)
            for t in subscription_changes(before, after)]


def balance_announcements(org_id: str, customer_id: str, before: dict[str, int], after: dict[str, int],
                          version: int, at: str) -> list[Announcement]:
    """`customer.balance_changed` for each currency whose credit appeared (from none) or was used up: the sign
    changed (the balance is never negative, docs/billing.md). A credit that only grows or shrinks is no state
    change a product acts on."""
    changed = sorted(c for c in set(before) | set(after) if bool(before.get(c, 0)) != bool(after.get(c, 0)))
    return [Announcement(org_id, f"balance:{customer_id}:{currency}:{version}", "customer.balance_changed",
                         {"organization_id": org_id, "customer_id": customer_id, "currency": currency,
                          "before": before.get(currency, 0), "after": after.get(currency, 0)}, at)
            for currency in changed]


def invoice_paid_detail(invoice: Invoice) -> dict:
    return {"organization_id": invoice.organization_id, "customer_id": invoice.customer_id,
            "invoice_id": invoice.id, "key": f"invoice-paid:{invoice.id}"}


def invoice_status_announcements(invoice: Invoice, status: str, at: str) -> list[Announcement]:
    """An invoice's status change (paid, void) is `invoice.updated`; paid is also `invoice.paid`, with the key an
    invoice issued already paid is announced with (functions/billing/invoices.py): one order.paid either way."""
    detail = {"organization_id": invoice.organization_id, "customer_id": invoice.customer_id,
              "invoice_id": invoice.id}
    found = [Announcement(invoice.organization_id, f"invoice-updated:{invoice.id}:{status}", "invoice.updated",
                          detail, at)]
    if status == "paid":
        found.append(Announcement(invoice.organization_id, f"invoice-paid:{invoice.id}", "invoice.paid",
                                  invoice_paid_detail(invoice), at))
    return found


# Publishing --------------------------------------------------------------------------------------------------

def _put_on_bus(announcements: list[Announcement]) -> None:
    by_type: dict[str, list[dict]] = {}
    for a in announcements:
        by_type.setdefault(a.detail_type, []).append({**a.detail, "key": a.key})
    for detail_type, details in by_type.items():
        eventbridge.publish(settings().event_bus_name, detail_type, details)


def publish(announcements: list[Announcement]) -> None:
    """After the change committed. A failure is logged, not raised: the change is made, and its announcements
    wait on the outbox for the next cycle-close run."""
    if not announcements:
        return
    try:
        _put_on_bus(announcements)
        for a in announcements:
            outbox.mark_published(a)
    except Exception:
        logger.exception("announcements not published yet", extra={"keys": [a.key for a in announcements]})


def publish_together(written: list[Announcement]) -> None:
    """After their changes committed (a close worker's batch of renewals): 10 to a bus call and 25 to a batch
    write. A failure is logged, not raised: what is not marked published waits on the outbox for the sweep."""
    try:
        for start in range(0, len(written), 25):
            _publish_batch(written[start:start + 25])
    except Exception:
        logger.exception("announcements not published yet", extra={"keys": [a.key for a in written]})


def _publish_batch(batch: list[Announcement]) -> None:
    _put_on_bus(batch)
    outbox.mark_all_published(batch)


def publish_pending(has_time: Callable[[], bool] = lambda: True) -> int:
    """Publish what the outbox holds (what a crashed writer or a failed bus call left), 25 at a time, while
    `has_time()`; the rest waits for the next run."""
    published = 0
    batch: list[Announcement] = []
    for a in outbox.pending():
        batch.append(a)
        if len(batch) == 25:
            if not has_time():
                return published
            _publish_batch(batch)
            published += len(batch)
            batch = []
    if batch and has_time():
        _publish_batch(batch)
        published += len(batch)
    return published
