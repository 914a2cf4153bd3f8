"""Polar's orders API over Meterbill's invoices: every invoice is an order (docs/portal.md maps the statuses and
amounts), read in Polar's Order shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.billing import invoices
from functions.billing.polar import ORDER_STATUS, organization_order_out
from functions.common.clock import parse_iso
from functions.common.errors import NotFound
from functions.common.listing import SortKeys, sort_rows
from functions.store import billing as store
from functions.store import customers as customer_store
from functions.store import meters as meter_store
from functions.store import organizations as organization_store
from functions.store.billing_entities import Invoice, Product, Subscription
from functions.store.entities import Customer


@dataclass(frozen=True)
class OrderFilter:
    """Polar's orders.list filters (each a set of accepted values; None: any)."""
    product_ids: set[str] | None = None
    customer_ids: set[str] | None = None
    external_customer_ids: set[str] | None = None
    subscription_ids: set[str] | None = None
    discount_ids: set[str] | None = None
    statuses: set[str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    one_time_only: bool = False  # product_billing_type=one_time: Meterbill bills subscriptions only

    def keeps(self, invoice: Invoice, customer: Customer | None) -> bool:
        created = parse_iso(invoice.created_at)
        return not self.one_time_only and all((
            self.product_ids is None or invoice.product_id in self.product_ids,
            self.customer_ids is None or invoice.customer_id in self.customer_ids,
            self.external_customer_ids is None or (customer is not None
                                                   and customer.external_id in self.external_customer_ids),
            self.subscription_ids is None or invoice.subscription_id in self.subscription_ids,
            self.discount_ids is None or invoice.discount_id in self.discount_ids,
            self.statuses is None or ORDER_STATUS[invoice.status] in self.statuses,
            self.created_after is None or created > self.created_after,
            self.created_before is None or created < self.created_before,
        ))


def list_orders(org_id: str, wanted: OrderFilter, sorting: SortKeys) -> list[dict[str, Any]]:
    shape = _shaper(org_id)
    customers: dict[str, Customer | None] = {}
    rows = []
    for invoice in invoices.list_invoices(org_id):
        if invoice.customer_id not in customers:
            customers[invoice.customer_id] = customer_store.get(org_id, invoice.customer_id)
        customer = customers[invoice.customer_id]
        if customer is not None and wanted.keeps(invoice, customer):
            rows.append(shape(invoice, customer))
    return sort_rows(rows, sorting, _order_value)


def get_order(org_id: str, order_id: str) -> dict[str, Any]:
    invoice = invoices.get_invoice(org_id, order_id)
    customer = customer_store.get(org_id, invoice.customer_id)
    if customer is None:
        raise NotFound("the order's customer is deleted")
    return _shaper(org_id)(invoice, customer)


def _shaper(org_id: str) -> Any:
    """Shapes invoices of one organization, reading each product and subscription once."""
    org = organization_store.get(org_id)
    if org is None:
        raise NotFound("organization not found")
    meters = {m.id: m for m in meter_store.list_all(org_id)}
    products: dict[str, Product | None] = {}
    subs: dict[str, Subscription | None] = {}

    def shape(invoice: Invoice, customer: Customer) -> dict[str, Any]:
        if invoice.product_id not in products:
            products[invoice.product_id] = store.get_product(org_id, invoice.product_id)
        if invoice.subscription_id not in subs:
            subs[invoice.subscription_id] = store.get_subscription(org_id, invoice.subscription_id)
        return organization_order_out(invoice, products[invoice.product_id], subs[invoice.subscription_id], org,
                                      meters, customer)

    return shape


def _order_value(row: dict[str, Any], key: str) -> Any:
    return row["total_amount"] if key == "amount" else row[key]
