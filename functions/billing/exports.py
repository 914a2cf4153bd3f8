"""Polar's subscriptions and orders exports: CSV, oldest first, dates in the asked time zone."""

from __future__ import annotations

import csv
import io
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from functions.billing import invoices, subscriptions
from functions.billing.polar import ORDER_STATUS
from functions.common.clock import parse_iso
from functions.common.errors import ValidationFailed, field_error
from functions.store import billing as store
from functions.store import customers as customer_store
from functions.store.entities import Customer

SUBSCRIPTION_COLUMNS = ("id", "created_at", "status", "customer_id", "customer_email", "customer_external_id",
                        "product", "amount", "currency", "interval", "current_period_end", "cancel_at_period_end")
ORDER_COLUMNS = ("id", "created_at", "invoice_number", "status", "customer_id", "customer_email",
                 "customer_external_id", "product", "subtotal_amount", "discount_amount", "tax_amount",
                 "total_amount", "currency", "billing_reason")


def zone(name: str) -> ZoneInfo:
    """The `timezone` query parameter: an IANA name, or a 422 naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed([field_error(["query", "timezone"], f"unknown time zone {name!r}")]) from None


def subscriptions_csv(org_id: str, timezone: str) -> str:
    tz = zone(timezone)
    products = {p.id: p for p in store.list_products(org_id)}
    customers = _customers(org_id)
    out, writer = _writer(SUBSCRIPTION_COLUMNS)
    for sub in sorted(subscriptions.list_subscriptions(org_id), key=lambda s: (s.created_at, s.id)):
        product, customer = products.get(sub.product_id), customers.get(sub.customer_id)
        writer.writerow([sub.id, _local(sub.created_at, tz), sub.status, sub.customer_id, *_who(customer),
                         product.name if product else "", product.fixed_amount if product else "",
                         product.currency if product else "",
                         f"{product.recurring_interval_count} {product.recurring_interval}" if product else "",
                         _local(sub.current_period_end, tz), "true" if sub.cancel_at_period_end else "false"])
    return out.getvalue()


def orders_csv(org_id: str, timezone: str, product_ids: set[str] | None) -> str:
    tz = zone(timezone)
    products = {p.id: p for p in store.list_products(org_id)}
    customers = _customers(org_id)
    out, writer = _writer(ORDER_COLUMNS)
    for invoice in sorted(invoices.list_invoices(org_id), key=lambda i: i.number):
        if product_ids is not None and invoice.product_id not in product_ids:
            continue
        product = products.get(invoice.product_id)
        writer.writerow([invoice.id, _local(invoice.created_at, tz), invoice.number, ORDER_STATUS[invoice.status],
                         invoice.customer_id, *_who(customers.get(invoice.customer_id)),
                         product.name if product else "", invoice.subtotal, invoice.discount_amount,
                         invoice.tax_amount, invoice.total, invoice.currency, invoice.billing_reason])
    return out.getvalue()


def _customers(org_id: str) -> dict[str, Customer]:
    return {c.id: c for c in customer_store.list_all(org_id)}


def _who(customer: Customer | None) -> list[str]:
    return [customer.email or "", customer.external_id or ""] if customer else ["", ""]


def _local(moment: str | None, tz: ZoneInfo) -> str:
    return parse_iso(moment).astimezone(tz).isoformat() if moment else ""


def _writer(columns: tuple[str, ...]) -> tuple[io.StringIO, Any]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    return out, writer
