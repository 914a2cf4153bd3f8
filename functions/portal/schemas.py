"""Polar's customer-portal shapes: what a customer (with a session token) reads about itself.

Apart from the organization API's models on purpose: the portal Lambda imports neither billing's nor meters'
schemas (tests/infra/test_build.py), and a customer sees less than the organization does.
"""

from __future__ import annotations

from functions.common.schemas import lazy_models


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime
    from typing import Any, Literal

    from pydantic import Field

    from functions.common.schemas import Schema

    class CustomerCustomerMeterMeter(Schema):
        id: str
        name: str
        created_at: datetime
        modified_at: datetime | None
        unit: str
        custom_label: str | None = None

    class CustomerCustomerMeter(Schema):
        """Polar's CustomerCustomerMeter: one of the customer's active meters."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        customer_id: str
        meter_id: str
        consumed_units: float
        credited_units: int
        balance: float
        period_start: datetime
        period_end: datetime
        meter: CustomerCustomerMeterMeter

    class CustomerOrganization(Schema):
        id: str
        name: str
        slug: str
        created_at: datetime
        modified_at: datetime | None
        avatar_url: str | None
        proration_behavior: str
        allow_customer_updates: bool
        customer_portal_settings: dict[str, Any]

    class CustomerSubscriptionProduct(Schema):
        """Polar's CustomerSubscriptionProduct (and CustomerOrderProduct): the product with its prices in Polar's
        shapes (a package price, which Polar has no shape for, is left out)."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        name: str
        description: str | None
        visibility: Literal["public"]
        recurring_interval: Literal["day", "week", "month", "year"]
        recurring_interval_count: int
        trial_interval: None
        trial_interval_count: None
        meter_interval: None
        meter_interval_count: None
        is_recurring: bool
        is_archived: bool
        organization_id: str
        prices: list[dict[str, Any]]
        benefits: list[dict[str, Any]]
        medias: list[dict[str, Any]]
        organization: CustomerOrganization

    class SubscriptionMeterMeter(Schema):
        id: str
        name: str
        created_at: datetime
        modified_at: datetime | None

    class CustomerSubscriptionMeter(Schema):
        """A meter the subscription prices: this period's usage and what it adds to the upcoming invoice."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        consumed_units: float
        credited_units: int
        amount: int
        meter_id: str
        meter: SubscriptionMeterMeter

    class CustomerOrderSubscription(Schema):
        """Polar's subscription fields; those of what Meterbill does not do (trials, pauses, seats) are null."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        amount: int
        currency: str
        recurring_interval: Literal["day", "week", "month", "year"]
        recurring_interval_count: int
        status: Literal["active", "canceled"]
        current_period_start: datetime
        current_period_end: datetime
        current_meter_period_start: None
        current_meter_period_end: None
        trial_start: None
        trial_end: None
        cancel_at_period_end: bool
        canceled_at: datetime | None
        started_at: datetime
        ends_at: datetime | None
        ended_at: datetime | None
        past_due_at: None
        pause_at_period_end: bool
        paused_at: None
        resumes_at: None
        customer_id: str
        product_id: str
        discount_id: str | None
        checkout_id: None
        seats: None
        units: None
        customer_cancellation_reason: None
        customer_cancellation_comment: None

    class CustomerSubscription(CustomerOrderSubscription):
        """Polar's CustomerSubscription."""

        product: CustomerSubscriptionProduct
        prices: list[dict[str, Any]]
        meters: list[CustomerSubscriptionMeter]
        pending_update: None

    class OrderItem(Schema):
        id: str
        created_at: datetime
        modified_at: datetime | None
        label: str
        amount: int
        tax_amount: int = Field(description="0: the invoice is taxed as a whole (the order's tax_amount)")
        proration: bool
        product_price_id: str | None
        start_timestamp: datetime | None
        end_timestamp: datetime | None

    class CustomerOrder(Schema):
        """Polar's CustomerOrder: one of the customer's invoices (docs/portal.md has the mapping)."""

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
        refunded_amount: int
        refunded_tax_amount: int
        currency: str
        billing_reason: Literal["subscription_create", "subscription_cycle", "subscription_update"]
        billing_name: str | None
        billing_address: dict[str, Any] | None
        invoice_number: str
        is_invoice_generated: bool
        receipt_number: None
        seats: None
        units: None
        customer_id: str
        product_id: str | None
        discount_id: str | None
        subscription_id: str | None
        checkout_id: None
        next_payment_attempt_at: None
        product: CustomerSubscriptionProduct | None
        subscription: CustomerOrderSubscription | None
        items: list[OrderItem]
        description: str
        refundable_amount: int
        refundable_tax_amount: int

    class CustomerOrderInvoice(Schema):
        url: str = Field(description="the invoice's PDF; it takes the same customer session")

    class CustomerCustomerSession(Schema):
        expires_at: datetime
        return_url: str | None

    class PortalAuthenticatedUser(Schema):
        type: Literal["customer"]
        name: str | None
        email: str
        customer_id: str
        member_id: None = None
        role: None = None

    class CustomerInvoiceLine(Schema):
        kind: str
        description: str
        amount: int

    class CustomerInvoice(Schema):
        """One of the customer's invoices (Polar's customer orders); its PDF is /portal/invoices/{id}/pdf."""

        id: str
        number: int
        customer_id: str
        subscription_id: str
        status: str
        currency: str
        period_start: datetime
        period_end: datetime
        lines: list[CustomerInvoiceLine]
        subtotal: int
        discount_amount: int
        tax_amount: int
        total: int
        applied_balance: int
        amount_due: int
        created_at: datetime
        billing_address: dict[str, Any] | None = None

    class ProductRef(Schema):
        id: str
        name: str

    class CustomerProduct(Schema):
        """A product the subscription may switch to (the organization's portal products, same interval)."""

        id: str
        name: str
        recurring_interval: str
        recurring_interval_count: int
        prices: list[dict[str, Any]]

    class CustomerSubscriptionChangePreview(Schema):
        """Beyond Polar: what a product change would add to (or take off) the next invoice; nothing written."""

        subscription_id: str
        current_product: ProductRef
        product: CustomerProduct | ProductRef | dict[str, Any]
        proration_behavior: str
        proration_amount: int
        currency: str
        as_of: datetime
        period_end: datetime

    class CustomerPortalCustomer(Schema):
        """Polar's CustomerPortalCustomer, as far as Meterbill keeps the fields."""

        id: str
        created_at: datetime
        modified_at: datetime | None
        email: str
        email_verified: bool
        name: str | None
        billing_name: str | None
        billing_address: dict[str, Any] | None
        tax_id: Any
        oauth_accounts: dict[str, Any]
        default_payment_method_id: str | None
        type: str
        balances: list[dict[str, Any]] = Field(description="the credit balance per currency (Polar's "
                                                "CustomerBalance: balance in cents, currency)")

    return {"CustomerOrganization": CustomerOrganization, "CustomerSubscriptionProduct": CustomerSubscriptionProduct,
            "SubscriptionMeterMeter": SubscriptionMeterMeter, "CustomerSubscriptionMeter": CustomerSubscriptionMeter,
            "CustomerOrderSubscription": CustomerOrderSubscription, "OrderItem": OrderItem,
            "CustomerOrder": CustomerOrder, "CustomerOrderInvoice": CustomerOrderInvoice,
            "CustomerCustomerSession": CustomerCustomerSession, "PortalAuthenticatedUser": PortalAuthenticatedUser,
            "CustomerProduct": CustomerProduct,
            "CustomerSubscriptionChangePreview": CustomerSubscriptionChangePreview,
            "CustomerPortalCustomer": CustomerPortalCustomer, "ProductRef": ProductRef,
            "CustomerCustomerMeterMeter": CustomerCustomerMeterMeter, "CustomerCustomerMeter": CustomerCustomerMeter,
            "CustomerSubscription": CustomerSubscription, "CustomerInvoiceLine": CustomerInvoiceLine,
            "CustomerInvoice": CustomerInvoice}


__getattr__ = lazy_models(_response_models)
