"""Entities for the pure tests: what a test does not name takes a neutral value."""

from __future__ import annotations

from typing import Any

from functions.store.billing_entities import Discount, Price, Product, Subscription, TaxRate
from functions.store.entities import BillingState, Meter

MATCH_ALL = {"conjunction": "and", "clauses": []}


def meter(id: str, aggregation: dict[str, Any], **fields: Any) -> Meter:
    return Meter(**{"id": id, "organization_id": "org", "seq": 1, "name": id, "filter": MATCH_ALL,
                    "aggregation": aggregation, "created_at": "2026-01-01T00:00:00Z", **fields})


def tax_rate(basis_points: int, inclusive: bool = False, *, id: str = "rate", country: str = "US",
             **fields: Any) -> TaxRate:
    return TaxRate(**{"id": id, "organization_id": "org", "name": id, "country": country,
                      "basis_points": basis_points, "inclusive": inclusive, "created_at": "2026-01-01T00:00:00Z",
                      **fields})


def discount(type: str = "percentage", duration: str = "forever", **fields: Any) -> Discount:
    return Discount(**{"id": "discount", "organization_id": "org", "name": "discount", "type": type,
                       "duration": duration, "created_at": "2026-01-01T00:00:00Z", **fields})


def price(**fields: Any) -> Price:
    """A price from its fields as the API takes them (`amount_type` and those of its kind)."""
    return Price(**{"id": "price", "created_at": "2026-01-01T00:00:00Z", **fields})


def product(prices: list[dict[str, Any]], **fields: Any) -> Product:
    """A monthly product with `prices` given as the API takes them."""
    return Product(**{"id": "product", "organization_id": "org", "name": "product", "recurring_interval": "month",
                      "created_at": "2026-01-01T00:00:00Z", **fields, "prices": [price(**p) for p in prices]})


def billing(**fields: Any) -> BillingState:
    """A customer's billing state: a monthly subscription in its cycle 0 from 2026-01-01, unless told."""
    return BillingState(**{"subscription_id": "s1", "anchor": "2026-01-01T00:00:00Z", "interval": "month",
                           "interval_count": 1, "cycle": 0, "period_start": "2026-01-01T00:00:00Z",
                           "period_end": "2026-02-01T00:00:00Z", **fields})


def subscription(**fields: Any) -> Subscription:
    """An active subscription of customer c1 to `product`, in its cycle 0 from 2026-01-01, unless told."""
    return Subscription(**{"id": "s1", "organization_id": "org", "customer_id": "c1", "product_id": "product",
                           "billing_anchor": "2026-01-01T00:00:00Z", "started_at": "2026-01-01T00:00:00Z",
                           "current_period_start": "2026-01-01T00:00:00Z",
                           "current_period_end": "2026-02-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
                           **fields})
