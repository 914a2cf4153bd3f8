"""What a customer sees in the portal, assembled from the same services the API uses. Read only."""

from __future__ import annotations

from typing import Any

from functions.billing import closing as billing
from functions.common.errors import NotFound
from functions.customer_meters.service import customer_meters
from functions.customer_sessions.service import CustomerPrincipal
from functions.customers import service as customers
from functions.store import billing as billing_store
from functions.store import meters as meter_store


def meters(who: CustomerPrincipal) -> list[dict[str, Any]]:
    customer = customers.get(who.organization_id, who.customer_id)
    all_meters = {m["id"]: m for m in meter_store.list_all(who.organization_id)}
    rows = customer_meters(who.organization_id, customer, all_meters)
    for row in rows:
        meter = row.pop("_meter")
        row["meter"] = {"id": meter["id"], "name": meter["name"], "unit": meter.get("unit", "scalar")}
    return rows


def subscriptions(who: CustomerPrincipal) -> list[dict[str, Any]]:
    subs = [s for s in billing_store.list_subscriptions(who.organization_id) if s["customer_id"] == who.customer_id]
    for sub in subs:
        product = billing_store.get_product(who.organization_id, sub["product_id"])
        sub["product_name"] = product["name"] if product else ""
        sub.pop("pending_lines", None)
    return sorted(subs, key=lambda s: s["created_at"], reverse=True)


def invoices(who: CustomerPrincipal) -> list[dict[str, Any]]:
    rows = [i for i in billing_store.list_invoices(who.organization_id) if i["customer_id"] == who.customer_id]
    return sorted(rows, key=lambda i: i["number"], reverse=True)


def invoice(who: CustomerPrincipal, invoice_id: str) -> dict[str, Any]:
    found = billing_store.get_invoice(who.organization_id, invoice_id)
    if found is None or found["customer_id"] != who.customer_id:
        raise NotFound("invoice not found")
    return found


def overview(who: CustomerPrincipal) -> dict[str, Any]:
    customer = customers.get(who.organization_id, who.customer_id)
    subs = subscriptions(who)
    active = next((s for s in subs if s["status"] == "active"), None)
    upcoming = billing.preview(who.organization_id, active["id"]) if active else None
    return {"customer": customer, "meters": meters(who), "subscription": active, "upcoming": upcoming,
            "invoices": invoices(who), "return_url": who.return_url}
