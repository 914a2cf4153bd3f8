"""The billing entities: tax rates, discounts, products and their prices, subscriptions and invoices. Apart from
functions/store/entities.py (customers and meters), which every Lambda imports, because only the Lambdas that
bill need them: each frozen dataclass costs a cold start about 1.3 ms to create (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from functions.store.entities import Address


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A tax rate item (Polar has none: billing/schemas.py TaxRateCreate). `country` and `state` are upper case;
    `archived_at` once DELETE took it off the invoices written from then on."""

    id: str
    organization_id: str
    name: str
    country: str
    basis_points: int
    created_at: str
    state: str | None = None
    inclusive: bool = False
    archived_at: str | None = None


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount item: `type` "percentage" (`basis_points`) or "fixed" (`amount`, cents of `currency`);
    `duration` "once", "forever" or "repeating" (`duration_in_months`). `redemptions_count` is raised by the
    transaction of each subscription that redeems it, never past `max_redemptions`."""

    id: str
    organization_id: str
    name: str
    type: str
    duration: str
    created_at: str
    basis_points: int | None = None
    amount: int | None = None
    currency: str = "usd"
    duration_in_months: int | None = None
    code: str | None = None
    max_redemptions: int | None = None
    redemptions_count: int = 0
    archived_at: str | None = None
    modified_at: str | None = None


METERED = ("metered_unit", "metered_tiers", "metered_package")


@dataclass(frozen=True, slots=True)
class Price:
    """One price of a product: `amount_type` says which fields it has (billing/schemas.py Price, as validated).
    "fixed": `price_amount` cents per cycle, billed in advance; "free"; the metered kinds bill their meter's
    usage in arrears: "metered_unit" (`unit_amount`, cents per unit as an exact decimal string),
    "metered_tiers" (`tiers`: the Tiers request model, dumped), "metered_package" (`package_amount` per started
    `package_size` units), each optionally capped (`cap_amount` cents per cycle) and with `credited_units`
    granted each cycle (`rollover`: unused ones carry over). `meter_name` is the meter's name when the price was
    made, for an invoice line whose meter was archived since."""

    id: str
    amount_type: str
    created_at: str
    price_currency: str = "usd"
    price_amount: int | None = None
    meter_id: str | None = None
    meter_name: str | None = None
    unit_amount: str | None = None
    tiers: dict[str, Any] | None = None
    package_size: int | None = None
    package_amount: int | None = None
    cap_amount: int | None = None
    credited_units: int = 0
    rollover: bool = False

    @property
    def is_metered(self) -> bool:
        return self.amount_type in METERED

    @property
    def tier_spec(self) -> dict[str, Any]:
        """The Tiers shape of a tiered price (`{"type", "tiers"}`); no tiers for any other kind."""
        return self.tiers or {"type": "graduated", "tiers": []}

    def fields_of_kind(self) -> dict[str, Any]:
        """The fields its kind has, as the request gave them (the API's ProductPrice): none left null, and the
        granted units only on a metered price."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        if not self.is_metered:
            data.pop("credited_units"), data.pop("rollover")
        return data


@dataclass(frozen=True, slots=True)
class Product:
    """A product item: a recurring cycle (`recurring_interval_count` of `recurring_interval`) and its prices (at
    most one fixed or free, all in one currency). `is_archived`: off sale, its subscriptions go on."""

    id: str
    organization_id: str
    name: str
    recurring_interval: str
    created_at: str
    prices: list[Price] = field(default_factory=list)
    recurring_interval_count: int = 1
    description: str | None = None
    is_recurring: bool = True
    is_archived: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    modified_at: str | None = None

    @property
    def currency(self) -> str:
        return next((p.price_currency for p in self.prices), "usd")

    @property
    def fixed_amount(self) -> int:
        """Cents per cycle of its fixed price (0 without one)."""
        return sum(p.price_amount or 0 for p in self.prices if p.amount_type == "fixed")

    def metered_prices(self) -> list[Price]:
        return [p for p in self.prices if p.is_metered]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription item: a customer on a product, in cycle number `cycle` of the product's interval from
    `billing_anchor` (`current_period_start` to `current_period_end`), `status` "active" until it is
    "canceled" (`ended_at`). `usage_start` is the last product change in the cycle (the open usage segment
    starts there; None: at the cycle's start) and `credits_used` what earlier segments of the cycle took of the
    grant; `rollover` the credits carried in from the last cycle (meter id -> exact decimal string).
    `pending_lines` are invoice lines (billing/invoice.py Line, as fields) carried to the next invoice:
    prorations and earlier segments' usage. `invoice_count` numbers its invoices (a `once` discount applies
    to the first)."""

    id: str
    organization_id: str
    customer_id: str
    product_id: str
    billing_anchor: str
    started_at: str
    current_period_start: str
    current_period_end: str
    created_at: str
    status: str = "active"
    cycle: int = 0
    cancel_at_period_end: bool = False
    canceled_at: str | None = None
    ended_at: str | None = None
    discount_id: str | None = None
    invoice_count: int = 0
    pending_lines: list[dict[str, Any]] = field(default_factory=list)
    rollover: dict[str, str] = field(default_factory=dict)
    usage_start: str | None = None
    credits_used: dict[str, str] = field(default_factory=dict)
    modified_at: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice: `kind` "fixed" (a fee, billed in advance), "metered" (usage of `meter_id`
    at `price_id`, in arrears: `consumed_units` less `credited_units` is the billable `quantity`) or
    "proration" (the rest of a cycle after a product change). Units are exact decimal strings; `amount` cents.
    How the amount is made, as the price was when billed: `unit_amount` (cents per unit, or per started
    package of `package_size` units), the `tiers` the units fell in (each: `first_unit`, `last_unit` (None: and
    above), `units`, `unit_amount`, the exact `amount`), and `cap_amount` when the price caps the line."""

    kind: str
    description: str
    amount: int
    quantity: str | None = None
    meter_id: str | None = None
    price_id: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    consumed_units: str | None = None
    credited_units: str | None = None
    unit_amount: str | None = None
    package_size: int | None = None
    tiers: list[dict[str, Any]] | None = None
    cap_amount: int | None = None


@dataclass(frozen=True, slots=True)
class InvoiceTax:
    """One tax rate an invoice applied (the rate as it was: `id` names the TaxRate) and its `amount`, cents signed
    like the amount it is the tax of."""

    basis_points: int
    inclusive: bool
    amount: int
    id: str | None = None
    name: str | None = None
    country: str | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice item, numbered in its organization, immutable once issued but for `status` ("open" until
    "paid" or "void"; nothing due: "paid" when issued). The customer and the seller are copied as they were
    when it was issued. `applied_balance` is what the customer's credit balance did to the `total` (negative:
    credit spent; positive: a negative total moved to the balance), `amount_due` what is left to pay.
    `artifacts` are the S3 keys of its PDF and JSON once published."""

    id: str
    number: int
    organization_id: str
    customer_id: str
    subscription_id: str
    product_id: str
    status: str
    billing_reason: str
    currency: str
    period_start: str
    period_end: str
    created_at: str
    lines: list[InvoiceLine] = field(default_factory=list)
    subtotal: int = 0
    discount_amount: int = 0
    tax_amount: int = 0
    taxes: list[InvoiceTax] = field(default_factory=list)
    total: int = 0
    tax_inclusive: bool = False
    applied_balance: int = 0
    amount_due: int = 0
    discount_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_tax_id: str | list[str | None] | None = None
    billing_address: Address | None = None
    seller: dict[str, Any] | None = None
    due_at: str | None = None
    artifacts: dict[str, str] | None = None
    modified_at: str | None = None
