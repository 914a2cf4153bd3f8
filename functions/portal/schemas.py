"""Polar's customer-portal shapes: what a customer (with a session token) reads about itself.

Apart from the organization API's models on purpose: the portal Lambda imports neither billing's nor meters'
schemas (tests/infra/test_build.py), and a customer sees less than the organization does.
"""

from __future__ import annotations

from functions.common.schemas import lazy_models


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime
    from typing import Any

    from pydantic import Field

    from functions.common.schemas import Schema

    class CustomerCustomerMeterMeter(Schema):
        id: str
        name: str
        unit: str

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

    class CustomerSubscription(Schema):
        id: str
        customer_id: str
        product_id: str
        product_name: str
        status: str
        current_period_start: datetime
        current_period_end: datetime
        cancel_at_period_end: bool
        created_at: datetime

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

    class CustomerSubscriptionDetail(Schema):
        """One of the customer's subscriptions, as the self-service routes answer it."""

        id: str
        customer_id: str
        product_id: str
        status: str
        current_period_start: datetime
        current_period_end: datetime
        cancel_at_period_end: bool
        canceled_at: datetime | None = None
        ended_at: datetime | None = None
        started_at: datetime
        created_at: datetime
        modified_at: datetime | None = None

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

    return {"CustomerSubscriptionDetail": CustomerSubscriptionDetail, "CustomerProduct": CustomerProduct,
            "CustomerSubscriptionChangePreview": CustomerSubscriptionChangePreview,
            "CustomerPortalCustomer": CustomerPortalCustomer, "ProductRef": ProductRef,
            "CustomerCustomerMeterMeter": CustomerCustomerMeterMeter, "CustomerCustomerMeter": CustomerCustomerMeter,
            "CustomerSubscription": CustomerSubscription, "CustomerInvoiceLine": CustomerInvoiceLine,
            "CustomerInvoice": CustomerInvoice}


__getattr__ = lazy_models(_response_models)
