"""What a customer sees in the portal, assembled from the same services the API uses (reads only; the
changes a customer may make are in selfservice.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from functions.billing import closing as billing
from functions.billing.invoice import METERED
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import NotFound
from functions.customer_meters.service import customer_meters
from functions.customer_sessions.service import CustomerPrincipal
from functions.customers import service as customers
from functions.meters.service import bucketed
from functions.portal import selfservice
from functions.store import billing as billing_store
from functions.store import meters as meter_store
from functions.store import organizations as organization_store
from functions.store.entities import Customer, Meter
from functions.store.events import events_of


def _meter_out(meter: Meter) -> dict[str, Any]:
    return {"id": meter.id, "name": meter.name, "unit": meter.unit, "custom_label": meter.custom_label}


def meters(who: CustomerPrincipal) -> list[dict[str, Any]]:
    """Polar's customer meters of the session's customer (the JSON API)."""
    customer = customers.get(who.organization_id, who.customer_id)
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    return [{**row.numbers(), "meter": _meter_out(row.meter)}
            for row in customer_meters(who.organization_id, customer, all_meters)]


def metered_prices(product: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """meter id -> the product's metered price on it (the first, if a product prices a meter twice)."""
    out: dict[str, dict[str, Any]] = {}
    for price in (product or {}).get("prices", []):
        if price["amount_type"] in METERED:
            out.setdefault(price["meter_id"], price)
    return out


def meter_cards(who: CustomerPrincipal, customer: Customer, product: dict[str, Any] | None,
                all_meters: dict[str, Meter] | None = None, now: datetime | None = None
                ) -> list[dict[str, Any]]:
    """Every meter the customer uses or pays for this period, with its price and its daily usage.

    A meter the subscription prices is shown even before its first event of the period (so it does not vanish
    at a renewal). The daily series is the quantities endpoint's computation (meters.service.bucketed) over the
    customer's events of the period, read once for all meters."""
    now = now or utcnow()
    if all_meters is None:
        all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    shown = [(row.numbers(), row.meter) for row in customer_meters(who.organization_id, customer, all_meters)]
    prices = metered_prices(product)
    billing_state = customer.billing or {}
    used = {meter.id for _, meter in shown}
    for meter_id in prices:
        priced = all_meters.get(meter_id)
        if meter_id in used or priced is None or priced.archived_at or not billing_state:
            continue
        shown.append(({"id": None, "customer_id": customer.id, "meter_id": meter_id, "consumed_units": 0,
                       "credited_units": 0, "balance": 0, "period_start": billing_state["period_start"],
                       "period_end": billing_state["period_end"]}, priced))
    if not shown:
        return []
    start = min(row["period_start"] for row, _ in shown)
    events = list(events_of(who.organization_id, {customer.id}, start, iso(now)))
    for row, meter in shown:
        row["meter"] = _meter_out(meter)
        row["price"] = prices.get(row["meter_id"])
        period_start, period_end = parse_iso(row["period_start"]), parse_iso(row["period_end"])
        in_period = [e for e in events if row["period_start"] <= e.timestamp < row["period_end"]]
        # The whole period, day by day (days to come are empty), so the chart shows how far the period is.
        row["daily"] = bucketed(meter, in_period, period_start, period_end - timedelta(microseconds=1),
                                "day")["quantities"]
        row["as_of"] = iso(now)
    return sorted((row for row, _ in shown), key=lambda r: r["meter"]["name"].lower())


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


def organization(who: CustomerPrincipal) -> dict[str, Any]:
    org = organization_store.get(who.organization_id)
    if org is None:
        raise NotFound("organization not found")
    return {"name": org.name, "branding": org.branding or {}, "seller": org.seller or {}}


def overview(who: CustomerPrincipal) -> dict[str, Any]:
    customer = customers.get(who.organization_id, who.customer_id)
    subs = subscriptions(who)
    active = next((s for s in subs if s["status"] == "active"), None)
    product = billing_store.get_product(who.organization_id, active["product_id"]) if active else None
    upcoming = billing.preview(who.organization_id, active["id"]) if active else None
    past = invoices(who)
    outstanding = [i for i in past if i["status"] == "open"]
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    return {
        "organization": organization(who), "customer": customer, "subscription": active, "product": product,
        "meters": meter_cards(who, customer, product, all_meters), "upcoming": upcoming, "invoices": past,
        "credit": customer.balances(),
        # What is left to pay: the amount due (after the credit balance); invoices from before it, their total.
        "balance": {"amount": sum(int(i.get("amount_due", i["total"])) for i in outstanding),
                    "count": len(outstanding),
                    "currency": (outstanding[0]["currency"] if outstanding else (upcoming or {}).get("currency"))
                    or "usd"},
        "meter_names": {k: _meter_out(v) for k, v in all_meters.items()}, "return_url": who.return_url,
        "offered": selfservice.offered_products(who, active) if active else [],
    }


def live_meters(who: CustomerPrincipal) -> dict[str, Any]:
    """The meters part of the overview, for the page's refresh (no invoice preview, no invoice list)."""
    customer = customers.get(who.organization_id, who.customer_id)
    active = next((s for s in subscriptions(who) if s["status"] == "active"), None)
    product = billing_store.get_product(who.organization_id, active["product_id"]) if active else None
    return {"meters": meter_cards(who, customer, product)}
