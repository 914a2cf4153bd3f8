"""Products and prices (Polar's shapes plus tiers and packages), subscriptions, discounts, tax rates."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from functions.billing import polar
from functions.billing.money import parse_unit_amount
from functions.common.request_types import Metadata, RequestModel
from functions.common.schemas import lazy_models
from functions.customers.schemas import customer_out
from functions.store import billing_entities, entities

Currency = Annotated[str, Field(default="usd", min_length=3, max_length=3)]
BIG = 10**15  # bound on stored integers: far beyond any bill, well inside DynamoDB's 38 digits


class FixedPrice(RequestModel):
    amount_type: Literal["fixed"]
    price_amount: int = Field(ge=0, le=99_999_999)
    price_currency: Currency = "usd"


class FreePrice(RequestModel):
    amount_type: Literal["free"]
    price_currency: Currency = "usd"


class MeterCredits(RequestModel):
    """Beyond Polar's price shape: units of the meter granted each cycle, optionally rolled over."""

    credited_units: int = Field(default=0, ge=0, le=BIG)
    rollover: bool = False


def _unit_amount(value: Any) -> str:
    return str(parse_unit_amount(value))


# Cents per unit, as a decimal string with up to 12 decimal places.
UnitAmount = Annotated[str, BeforeValidator(_unit_amount)]


class MeteredPrice(MeterCredits):
    """What every metered price has: its meter, an optional cap (cents per cycle) and a currency."""

    meter_id: str = Field(min_length=1, max_length=128)
    cap_amount: int | None = Field(default=None, ge=0, le=BIG)
    price_currency: Currency = "usd"


class MeteredUnitPrice(MeteredPrice):
    amount_type: Literal["metered_unit"]
    unit_amount: UnitAmount


class Tier(RequestModel):
    bound: int | None = Field(default=None, ge=1, le=BIG)
    unit_amount: UnitAmount


class Tiers(RequestModel):
    type: Literal["graduated", "volume"]
    tiers: list[Tier] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _ascending(self) -> Tiers:
        bounds = [t.bound for t in self.tiers]
        if bounds[-1] is not None:
            raise ValueError("the last tier must have no bound")
        if any(b is None for b in bounds[:-1]) or bounds[:-1] != sorted(set(bounds[:-1])):  # type: ignore[type-var]
            raise ValueError("tier bounds must be strictly ascending")
        return self


class MeteredTiersPrice(MeteredPrice):
    amount_type: Literal["metered_tiers"]
    tiers: Tiers


class MeteredPackagePrice(MeteredPrice):
    amount_type: Literal["metered_package"]
    package_size: int = Field(ge=1, le=BIG)
    package_amount: int = Field(ge=0, le=BIG)


Price = Annotated[
    FixedPrice | FreePrice | MeteredUnitPrice | MeteredTiersPrice | MeteredPackagePrice,
    Field(discriminator="amount_type"),
]


class ProductCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    recurring_interval: Literal["day", "week", "month", "year"]
    recurring_interval_count: int = Field(default=1, ge=1, le=999)
    prices: list[Price] = Field(min_length=1, max_length=20)
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_fixed(self) -> ProductCreate:
        if sum(p.amount_type in ("fixed", "free") for p in self.prices) > 1:
            raise ValueError("a product has at most one fixed or free price")
        currencies = {p.price_currency.lower() for p in self.prices}
        if len(currencies) > 1:
            raise ValueError("all prices of a product share one currency")
        return self


class SubscriptionCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    customer_id: str | None = None
    external_customer_id: str | None = None
    product_id: str
    discount_id: str | None = None
    discount_code: str | None = None
    billing_cycle_anchor: AwareDatetime | None = Field(default=None, description=(
        "Stripe's: a future moment, at most one cycle away, where the cycles start; the time until then is a "
        "first, shorter period whose fixed fee is prorated. Default: now"))

    @model_validator(mode="after")
    def _customer(self) -> SubscriptionCreate:
        if (self.customer_id is None) == (self.external_customer_id is None):
            raise ValueError("give exactly one of customer_id or external_customer_id")
        return self


class ProductUpdate(RequestModel):
    """Polar's ProductUpdate, without price changes (a new product is the way to new prices): only the fields
    sent change; `is_archived` takes a product off sale, its subscriptions go on."""

    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    name: str | None = Field(default=None, min_length=1, max_length=256)
    description: str | None = None
    metadata: Metadata | None = None
    is_archived: bool | None = None


class SubscriptionUpdate(RequestModel):
    """One change at a time, as in Polar: a product change, or a cancellation (or its undoing)."""

    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    product_id: str | None = None
    proration_behavior: Literal["invoice", "prorate"] = "prorate"
    cancel_at_period_end: bool | None = None

    @model_validator(mode="after")
    def _one_change(self) -> SubscriptionUpdate:
        if self.product_id is not None and self.cancel_at_period_end is not None:
            raise ValueError("send product_id or cancel_at_period_end, not both (one change at a time, as Polar)")
        return self


class DiscountCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    name: str = Field(min_length=1, max_length=256)
    type: Literal["percentage", "fixed"]
    basis_points: int | None = Field(default=None, ge=1, le=10_000)
    amount: int | None = Field(default=None, ge=1, le=BIG)
    currency: Currency = "usd"
    duration: Literal["once", "forever", "repeating"]
    duration_in_months: int | None = Field(default=None, ge=1, le=999)
    code: str | None = Field(default=None, min_length=3, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
    max_redemptions: int | None = Field(default=None, ge=1, le=BIG)

    @model_validator(mode="after")
    def _shape(self) -> DiscountCreate:
        if self.type == "percentage" and self.basis_points is None:
            raise ValueError("a percentage discount needs basis_points")
        if self.type == "fixed" and self.amount is None:
            raise ValueError("a fixed discount needs amount")
        if (self.duration == "repeating") != (self.duration_in_months is not None):
            raise ValueError("duration_in_months goes with (and only with) a repeating duration")
        return self


class DiscountUpdate(RequestModel):
    """Polar's DiscountUpdate, for what a discount may change once customers may hold it: its name and its
    redemption limit. Its amount, type, duration and code are fixed at creation (subscriptions have redeemed
    them); any other field of Polar's is a 422 naming it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=256)
    max_redemptions: int | None = Field(default=None, ge=1, le=BIG)


class TaxRateCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")  # a field Meterbill does not implement is a 422 naming it

    name: str = Field(min_length=1, max_length=128)
    country: str = Field(min_length=2, max_length=2)
    state: str | None = Field(default=None, max_length=16)
    basis_points: int = Field(ge=0, le=10_000)
    inclusive: bool = False

    @field_validator("country", "state")
    @classmethod
    def _codes_upper_case(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else value  # "ny" and "NY" are one state


class InvoiceStatusUpdate(RequestModel):
    status: Literal["paid", "void"]


def product_out(product: billing_entities.Product, meters: dict[str, entities.Meter]) -> dict[str, Any]:
    """The store's Product as its response (`Product` below): each price with the fields of its kind, and the
    fields of Polar's Product and ProductPrice that Meterbill's lack (no trials, benefits, media or custom fields;
    a metered price's `meter`), so that polar-sdk reads it. Meterbill's fields win where both have one."""
    prices = []
    for price in product.prices:
        shaped = polar.price_out(price, product, meters) or {}  # a package price has no Polar shape
        prices.append({**shaped, **price.fields_of_kind()})
    return {**asdict(product), "prices": prices, "trial_interval": None, "trial_interval_count": None,
            "visibility": "public", "meter_interval": None, "meter_interval_count": None,
            "is_deletable": False, "benefits": [], "medias": [], "attached_custom_fields": []}


def subscription_out(sub: billing_entities.Subscription, named: polar.Named) -> dict[str, Any]:
    """The store's Subscription as its response (`Subscription` below): its fields, and Polar's Subscription's
    (the amount and cycle of its product, the product, customer and discount embedded, no trials or pauses), so
    that polar-sdk reads it. Meterbill's fields win where both have one. `meters` is [] here: a subscription's
    usage is the customer's meters (GET /v1/customer-meters), not read for every listed subscription."""
    out = asdict(sub)
    product = named.products.get(sub.product_id)
    if product is None:
        return out
    customer = named.customers.get(sub.customer_id)
    discount = named.discounts.get(sub.discount_id) if sub.discount_id else None
    shaped = product_out(product, named.meters)
    return {**polar.subscription_core(sub, product), **out, "metadata": {},
            "customer": customer_out(customer) if customer else None, "product": shaped,
            "discount": discount_out(discount) if discount else None, "prices": shaped["prices"], "meters": [],
            "pending_update": None}


def upcoming_out(invoice: billing_entities.Invoice) -> dict[str, Any]:
    """The preview as its response (`UpcomingInvoice` below): no id or number yet, issued at the period's end."""
    return {**asdict(invoice), "id": None, "number": None, "issues_at": invoice.period_end}


def catalogue_out(entity: billing_entities.TaxRate) -> dict[str, Any]:
    """A tax rate as its response (`TaxRate` below): the entity's fields, as stored."""
    return asdict(entity)


def discount_out(discount: billing_entities.Discount) -> dict[str, Any]:
    """A discount as its response (`Discount` below): the entity's fields, and Polar's for what Meterbill does not
    restrict (no validity window, no per-customer limit, every product, no metadata), so that polar-sdk reads it as
    its Discount. A fixed discount's `amounts` is Polar's by-currency form of its one amount."""
    polar: dict[str, Any] = {"metadata": {}, "starts_at": None, "ends_at": None,
                             "max_redemptions_per_customer": None, "products": []}
    if discount.type == "fixed":
        polar["amounts"] = {discount.currency: discount.amount}
    return {**asdict(discount), **polar}



def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from pydantic import Field

    from functions.common.metadata import MetadataValue
    from functions.common.schemas import Schema

    class ProductPrice(Schema):
        """One price of a product: its id and kind, then the fields of that kind (see ProductCreate)."""

        id: str
        amount_type: Literal["fixed", "free", "metered_unit", "metered_tiers", "metered_package"]
        price_currency: str
        created_at: datetime
        price_amount: int | None = None
        meter_id: str | None = None
        unit_amount: str | None = Field(default=None, description="cents per unit, as a decimal string")
        cap_amount: int | None = None
        tiers: Tiers | None = None
        package_size: int | None = None
        package_amount: int | None = None
        credited_units: int | None = None
        rollover: bool | None = None

    class Product(Schema):
        id: str
        organization_id: str
        name: str
        description: str | None = None
        recurring_interval: Literal["day", "week", "month", "year"]
        recurring_interval_count: int
        is_recurring: bool
        is_archived: bool
        prices: list[ProductPrice]
        metadata: dict[str, MetadataValue]
        created_at: datetime
        modified_at: datetime | None = None
        visibility: Literal["public"] = "public"
        trial_interval: None = Field(default=None, description="always null: Meterbill has no trials")
        trial_interval_count: None = None
        meter_interval: None = Field(default=None, description="always null: meters count over the cycle")
        meter_interval_count: None = None
        is_deletable: bool = Field(default=False, description="always false: a product is archived, not deleted")
        benefits: list[dict[str, Any]] = Field(default_factory=list, description="always []")
        medias: list[dict[str, Any]] = Field(default_factory=list, description="always []")
        attached_custom_fields: list[dict[str, Any]] = Field(default_factory=list, description="always []")

    class Discount(Schema):
        id: str
        organization_id: str
        name: str
        type: Literal["percentage", "fixed"]
        basis_points: int | None = None
        amount: int | None = None
        currency: str
        duration: Literal["once", "forever", "repeating"]
        duration_in_months: int | None = None
        code: str | None = None
        max_redemptions: int | None = None
        redemptions_count: int
        archived_at: datetime | None = Field(default=None, description="set by DELETE: no new redemptions")
        created_at: datetime
        modified_at: datetime | None = None
        amounts: dict[str, int] | None = Field(default=None, description="fixed: {currency: amount}, Polar's form")
        metadata: dict[str, str] = Field(default_factory=dict)
        starts_at: datetime | None = Field(default=None, description="always null: valid from creation")
        ends_at: datetime | None = Field(default=None, description="always null: valid until archived")
        max_redemptions_per_customer: int | None = None
        products: list[dict[str, Any]] = Field(default_factory=list, description="always []: every product")

    class TaxRate(Schema):
        id: str
        organization_id: str
        name: str
        country: str
        state: str | None = None
        basis_points: int
        inclusive: bool
        created_at: datetime
        archived_at: datetime | None = Field(default=None, description="set by DELETE: no longer applied")

    class Subscription(Schema):
        id: str
        organization_id: str
        customer_id: str
        product_id: str
        status: str = Field(examples=["active", "canceled"])
        billing_anchor: datetime
        cycle: int
        started_at: datetime
        current_period_start: datetime
        current_period_end: datetime
        cancel_at_period_end: bool
        canceled_at: datetime | None = None
        ended_at: datetime | None = None
        discount_id: str | None = None
        invoice_count: int
        pending_lines: list[dict[str, Any]] = Field(description="proration carried to the next invoice")
        created_at: datetime
        modified_at: datetime | None = None
        # Polar's Subscription (polar-sdk reads these): the product's amount and cycle, what it embeds.
        amount: int | None = Field(default=None, description="the product's fixed amount, cents")
        currency: str | None = None
        recurring_interval: str | None = None
        recurring_interval_count: int | None = None
        ends_at: datetime | None = None
        customer: dict[str, Any] | None = Field(default=None, description="the Customer")
        product: Product | None = None
        discount: Discount | None = None
        prices: list[dict[str, Any]] = Field(default_factory=list, description="the product's prices")
        meters: list[dict[str, Any]] = Field(default_factory=list, description="always []: read the customer's "
                                                                              "meters (GET /v1/customer-meters)")
        metadata: dict[str, str] = Field(default_factory=dict)

    class Order(Schema):
        """Polar's Order: one of Meterbill's invoices (docs/portal.md maps statuses and amounts), with its
        customer, product and subscription embedded."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        status: Literal["draft", "pending", "paid", "void"]
        paid: bool
        subtotal_amount: int
        discount_amount: int
        net_amount: int
        tax_amount: int
        total_amount: int
        applied_balance_amount: int
        due_amount: int
        currency: str
        billing_reason: str
        invoice_number: str
        customer_id: str
        product_id: str | None
        subscription_id: str | None
        discount_id: str | None
        customer: dict[str, Any] = Field(description="the Customer")
        product: dict[str, Any] | None
        subscription: dict[str, Any] | None
        items: list[dict[str, Any]]
        metadata: dict[str, str]
        platform_fee_amount: int = Field(description="always 0: Meterbill takes no payments")

    class OrderInvoice(Schema):
        url: str = Field(description="the invoice's PDF (GET with the organization token)")

    class InvoiceLineTier(Schema):
        first_unit: int
        last_unit: int | None = Field(description="null: and above")
        units: str
        unit_amount: str = Field(description="cents per unit")
        amount: str = Field(description="cents, exact (not rounded)")

    class InvoiceLine(Schema):
        kind: Literal["fixed", "metered", "proration"]
        description: str
        amount: int = Field(description="cents")
        quantity: str | None = Field(default=None, description="units, an exact decimal as text")
        meter_id: str | None = None
        price_id: str | None = None
        period_start: datetime | None = None
        period_end: datetime | None = None
        consumed_units: str | None = None
        credited_units: str | None = None
        unit_amount: str | None = Field(default=None, description="cents per unit (per started package of "
                                        "`package_size` units), an exact decimal as text; a fixed line's fee")
        package_size: int | None = None
        tiers: list[InvoiceLineTier] | None = Field(default=None, description="the tiers the billable units fell "
                                                    "in, each at its rate; their amounts add up to the line's "
                                                    "before it is rounded once")
        cap_amount: int | None = Field(default=None, description="cents: the price's cap on the line")

    class InvoiceTax(Schema):
        """One tax rate an invoice applied (several stack: a country's and its state's) and its amount."""

        id: str | None
        name: str | None
        basis_points: int
        inclusive: bool
        country: str | None
        state: str | None = None
        amount: int = Field(description="cents, signed like the amount it is the tax of")

    class Invoice(Schema):
        id: str
        number: int
        organization_id: str
        customer_id: str
        subscription_id: str
        product_id: str
        status: Literal["draft", "open", "paid", "void"]
        billing_reason: str
        currency: str
        period_start: datetime
        period_end: datetime
        discount_id: str | None = None
        customer_name: str | None = None
        customer_email: str | None = None
        billing_address: dict[str, Any] | None = None
        lines: list[InvoiceLine]
        subtotal: int
        discount_amount: int
        tax_amount: int = Field(description="the sum of `taxes`")
        taxes: list[InvoiceTax] = Field(default_factory=list, description="each rate applied, in the order "
                                        "country then state; absent on invoices issued before rates stacked")
        total: int
        tax_inclusive: bool = Field(description="every rate applied is inclusive")
        applied_balance: int = Field(description="cents the customer's credit balance adds to the total: negative "
                                     "when credit pays part of it, positive when a negative total goes to the "
                                     "balance")
        amount_due: int = Field(description="total + applied_balance, never negative")
        created_at: datetime
        modified_at: datetime | None = None

    class UpcomingInvoice(Invoice):
        """What closing the current period now would bill: an invoice that has no id or number yet."""

        id: None = None  # type: ignore[assignment]
        number: None = None  # type: ignore[assignment]
        status: Literal["draft"]  # type: ignore[assignment]

    return {"ProductPrice": ProductPrice, "Product": Product, "Discount": Discount, "TaxRate": TaxRate,
            "Subscription": Subscription, "Order": Order, "OrderInvoice": OrderInvoice,
            "InvoiceLineTier": InvoiceLineTier, "InvoiceLine": InvoiceLine,
            "InvoiceTax": InvoiceTax, "Invoice": Invoice, "UpcomingInvoice": UpcomingInvoice}


__getattr__ = lazy_models(_response_models)
