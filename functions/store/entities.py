"""The entities the store reads and writes, beside the rest of the store because they do no I/O: a feature's
schemas.py converts them to its response models without importing a repository (tests/unit/test_layers.py).

Frozen dataclasses, no pydantic (the cycle-close Lambda imports none). Each item's attributes are its entity's
field names (the short names of events and aggregates are in attributes.py); a codec reading an item ignores an
attribute no field names, and a field an older item lacks takes its default, so items written before a field
existed still read.

The customers' and meters' entities are here; the billing ones are in billing_entities.py and the webhooks' in
webhook_entities.py, so that a Lambda creates only the classes it uses at its cold start (about 1.3 ms each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Address = dict[str, str | None]  # line1, line2, postal_code, city, state, country (Polar's Address)


@dataclass(frozen=True, slots=True)
class BillingState:
    """What each active subscription of a customer keeps on the customer item (attribute `billing#<id>`), so
    that ingest and the customer meters find a meter's period without reading the subscription: its cycle
    (`anchor`, every `interval_count` `interval`s, now at number `cycle`), the open usage segment (from
    `period_start`, the cycle's start or its last product change, to `period_end`), the meters its product prices
    (`meter_ids`: those count in this subscription's periods), and the units credited per meter in the segment
    (exact decimal strings)."""

    subscription_id: str
    anchor: str
    interval: str
    interval_count: int
    cycle: int
    period_start: str
    period_end: str
    credits: dict[str, str] = field(default_factory=dict)
    meter_ids: list[str] = field(default_factory=list)
    started_at: str = ""


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer item. `billing` holds the billing state of each active subscription, by subscription id
    (what meters/periods.py reads to find a meter's period); empty without an active subscription.
    `tax_id` is Polar's `[value, type]` pair, or the text the portal's form saved. `balance` is the customer's
    credit per currency (lower case -> cents, positive: credit to spend on the next invoices), changed only in an
    invoice's transaction, each change guarded by `balance_version` (docs/billing.md, Customer balance).
    `billing_version` counts the changes of the billing states: a subscription created or moved to another
    product is written on the condition that no other one changed since the meters it prices were checked, and
    a whole-item write of a customer read earlier never puts back an old billing state."""

    id: str
    organization_id: str
    created_at: str
    external_id: str | None = None
    email: str = ""
    name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    billing_address: Address | None = None
    tax_exempt: bool = False
    billing_name: str | None = None
    tax_id: str | list[str | None] | None = None
    billing: dict[str, BillingState] = field(default_factory=dict)
    balance: dict[str, int] = field(default_factory=dict)
    balance_version: int = 0
    billing_version: int = 0  # moves with every change of a billing state (store/billing.py _customer_update)
    payment_terms_days: int | None = None  # overrides the organization's terms on its invoices' due date
    modified_at: str | None = None
    deleted_at: str | None = None

    def billing_for(self, meter_id: str) -> BillingState | None:
        """The state whose periods a meter counts in: the subscription that prices it, else the customer's
        oldest active subscription (a meter no subscription prices follows the first one's cycle); None: the
        calendar month. A meter is priced by at most one active subscription (billing/subscriptions.py)."""
        if not self.billing:
            return None
        for state in self.billing.values():
            if meter_id in state.meter_ids:
                return state
        return self.primary_billing()

    def primary_billing(self) -> BillingState | None:
        """The oldest active subscription's state (the periods of meters no subscription prices)."""
        if not self.billing:
            return None
        return min(self.billing.values(), key=lambda s: (s.started_at, s.subscription_id))

    def balances(self) -> list[dict[str, Any]]:
        """The credit per currency, each in Polar's CustomerBalance shape (cents; positive: credit)."""
        return [{"balance": int(amount), "currency": currency}
                for currency, amount in sorted(self.balance.items()) if amount]


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter item. `filter` and `aggregation` keep the shapes the request validated (meters/schemas.py
    Filter and Aggregation, dumped): ingest compiles them once per request (meters/matching.py). `seq` is the
    meter's number in its organization (events remember the highest they were matched against, the backfill's
    boundary); `backfill_pending` until the catch-up backfill has run. `thresholds` are meters/schemas.py
    Threshold, dumped."""

    id: str
    organization_id: str
    seq: int
    name: str
    filter: dict[str, Any]
    aggregation: dict[str, Any]
    created_at: str
    unit: str = "scalar"
    custom_label: str | None = None
    custom_multiplier: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    backfill_pending: bool = False
    modified_at: str | None = None
    archived_at: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the organization's audit log: who (`actor`: a customer, through a customer session), when,
    what (`action` on `subject_id`; `changes`: field -> {"from", "to"}, and the reason a customer gave)."""

    id: str
    organization_id: str
    created_at: str
    customer_id: str
    action: str
    subject_id: str
    actor: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
