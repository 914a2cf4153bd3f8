"""What a billing change announces (Polar's webhook types), and the keys that make a repeat the same fact."""

from __future__ import annotations

from dataclasses import replace

import pytest

from functions.billing.announcements import (
    balance_announcements,
    invoice_status_announcements,
    subscription_announcements,
    subscription_changes,
)
from functions.store.billing_entities import Invoice, Subscription

SUB = Subscription(id="s1", organization_id="org", customer_id="c1", product_id="p1", billing_anchor="a",
                   started_at="a", current_period_start="2026-11-01T00:00:00Z",
                   current_period_end="2026-12-01T00:00:00Z", created_at="a")
CANCELLING = replace(SUB, cancel_at_period_end=True, canceled_at="b", modified_at="b")
ENDED = replace(SUB, status="canceled", ended_at="c", canceled_at="c", modified_at="c")
RENEWED = replace(SUB, cycle=1, current_period_start="2026-12-01T00:00:00Z",
                  current_period_end="2027-01-01T00:00:00Z", modified_at="d")


@pytest.mark.parametrize(("before", "after", "types"), [
    (None, SUB, ["subscription.created", "subscription.active"]),
    (SUB, RENEWED, ["subscription.updated"]),
    (SUB, replace(SUB, product_id="p2", modified_at="e"), ["subscription.updated"]),
    (SUB, CANCELLING, ["subscription.updated", "subscription.canceled"]),
    (CANCELLING, replace(SUB, modified_at="f"), ["subscription.updated", "subscription.uncanceled"]),
    # Revoked now, never cancelled before: Polar sends both; at the end of a cancelled period, only revoked.
    (SUB, ENDED, ["subscription.updated", "subscription.canceled", "subscription.revoked"]),
    (CANCELLING, replace(ENDED, cancel_at_period_end=True), ["subscription.updated", "subscription.revoked"]),
    (CANCELLING, replace(CANCELLING, modified_at="g"), ["subscription.updated"]),  # cancelled again: no news
])
def test_each_change_is_updated_and_the_specific_type(before, after, types) -> None:
    assert subscription_changes(before, after) == types


def test_an_announcement_carries_the_subscription_the_change_wrote_and_a_key_of_that_change() -> None:
    first, = [a for a in subscription_announcements(SUB, CANCELLING, "b") if a.detail_type == "subscription.canceled"]
    assert first.detail["subscription"]["cancel_at_period_end"] is True
    assert first.detail["customer_id"] == "c1" and first.organization_id == "org"
    # The same write retried: the same keys. Another change of the same type: another key.
    again = subscription_announcements(SUB, CANCELLING, "b")
    assert [a.key for a in again] == [a.key for a in subscription_announcements(SUB, CANCELLING, "b")]
    later = subscription_announcements(replace(SUB, modified_at="x"), replace(CANCELLING, canceled_at="y"), "y")
    assert {a.key for a in later}.isdisjoint(a.key for a in again)


def test_the_balance_announces_only_credit_appearing_or_used_up() -> None:
    appeared = balance_announcements("org", "c1", {}, {"usd": 500}, 4, "t")
    assert [(a.detail["currency"], a.detail["before"], a.detail["after"], a.key) for a in appeared] == [
        ("usd", 0, 500, "balance:c1:usd:4")]
    assert [a.detail["currency"] for a in balance_announcements("org", "c1", {"usd": 500, "eur": 70},
                                                                 {"eur": 70}, 5, "t")] == ["usd"]
    assert balance_announcements("org", "c1", {"usd": 500}, {"usd": 200}, 6, "t") == []  # still credit
    assert balance_announcements("org", "c1", {"usd": 500}, {"usd": 500, "eur": 0}, 6, "t") == []


def test_a_paid_invoice_is_updated_and_paid_with_the_key_of_an_invoice_issued_paid() -> None:
    invoice = Invoice(id="i1", number=3, organization_id="org", customer_id="c1", subscription_id="s1",
                      product_id="p1", status="open", billing_reason="subscription_cycle", currency="usd",
                      period_start="a", period_end="b", created_at="a")
    paid = invoice_status_announcements(invoice, "paid", "t")
    assert [(a.detail_type, a.key) for a in paid] == [("invoice.updated", "invoice-updated:i1:paid"),
                                                      ("invoice.paid", "invoice-paid:i1")]
    assert [a.detail_type for a in invoice_status_announcements(invoice, "void", "t")] == ["invoice.updated"]
