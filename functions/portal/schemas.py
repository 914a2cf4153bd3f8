"""Polar's customer-portal shapes: what a customer (with a session token) reads about itself.

Apart from the organization API's models on purpose: the portal Lambda imports neither billing's nor meters'
schemas (tests/infra/test_build.py), and a customer sees less than the organization does.
"""

from __future__ import annotations

from functions.common.schemas import lazy_models


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime
    from typing import Any

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
        created_at: datetime
        billing_address: dict[str, Any] | None = None

    return {"CustomerCustomerMeterMeter": CustomerCustomerMeterMeter, "CustomerCustomerMeter": CustomerCustomerMeter,
            "CustomerSubscription": CustomerSubscription, "CustomerInvoiceLine": CustomerInvoiceLine,
            "CustomerInvoice": CustomerInvoice}


__getattr__ = lazy_models(_response_models)
