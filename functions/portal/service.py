"""What a customer sees in the portal, assembled from the same services the API uses (reads only; the
changes a customer may make are in selfservice.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from functions.billing import closing as billing
from functions.billing import polar
from functions.common.clock import iso, parse_iso, utcnow
from functions.common.errors import NotFound
from functions.common.listing import SortKeys, sort_rows
from functions.customer_meters.service import customer_meters
from functions.customer_sessions.service import CustomerPrincipal
from functions.customers import service as customers
from functions.meters.quantities import meter_quantities
from functions.portal import selfservice
from functions.store import billing as billing_store
from functions.store import meters as meter_store
from functions.store import organizations as organization_store
from functions.store.billing_entities import Invoice, Price, Product, Subscription
from functions.store.entities import Customer, Meter


def _meter_out(meter: Meter) -> dict[str, Any]:
    return {"id": meter.id, "name": meter.name, "unit": meter.unit, "custom_label": meter.custom_label}


CUSTOMER_METER_SORT_KEYS = ("created_at", "modified_at", "meter_id", "meter_name", "consumed_units",
                            "credited_units", "balance")


def _customer_meter_value(row: dict[str, Any], key: str) -> Any:
    if key == "meter_name":
        return row["meter"]["name"]
    return row["created_at" if key == "modified_at" else key]  # never modified: its period's start


def meters(who: CustomerPrincipal, meter_ids: set[str] | None = None, query: str | None = None,
           sorting: SortKeys | None = None) -> list[dict[str, Any]]:
    """Polar's customer meters of the session's customer (the JSON API): `meter_ids` keeps those meters,
    `query` those whose name contains it (case-insensitive)."""
    customer = customers.get(who.organization_id, who.customer_id)
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    rows = [{**row.numbers(), "meter": polar.meter_ref(row.meter)}
            for row in customer_meters(who.organization_id, customer, all_meters)
            if (meter_ids is None or row.meter.id in meter_ids)
            and (not query or query.lower() in row.meter.name.lower())]
    return sort_rows(rows, sorting or [], _customer_meter_value)


def meter(who: CustomerPrincipal, customer_meter_id: str) -> dict[str, Any]:
    for row in meters(who):
        if row["id"] == customer_meter_id:
            return row
    raise NotFound("customer meter not found")


def metered_prices(product: Product | None) -> dict[str, Price]:
    """meter id -> the product's metered price on it (the first, if a product prices a meter twice)."""
    out: dict[str, Price] = {}
    for price in product.metered_prices() if product else []:
        out.setdefault(price.meter_id or "", price)
    return out


def meter_cards(who: CustomerPrincipal, customer: Customer, products: list[Product],
                all_meters: dict[str, Meter] | None = None, now: datetime | None = None
                ) -> list[dict[str, Any]]:
    """Every meter the customer uses or pays for this period, with its price and its daily usage.

    A meter an active subscription prices (`products`: theirs) is shown even before its first event of the
    period (so it does not vanish at a renewal), in that subscription's period. The daily series is the
    quantities endpoint's (meters/quantities.py): the customer's day buckets of the period."""
    now = now or utcnow()
    if all_meters is None:
        all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    shown = [(row.numbers(), row.meter) for row in customer_meters(who.organization_id, customer, all_meters)]
    prices: dict[str, Price] = {}
    for product in products:  # a meter is priced by one active subscription (billing/subscriptions.py)
        prices = {**metered_prices(product), **prices}
    used = {meter.id for _, meter in shown}
    for meter_id in prices:
        priced = all_meters.get(meter_id)
        billing_state = customer.billing_for(meter_id)
        if meter_id in used or priced is None or priced.archived_at or not billing_state:
            continue
        shown.append(({"id": None, "customer_id": customer.id, "meter_id": meter_id, "consumed_units": 0,
                       "credited_units": 0, "balance": 0, "period_start": billing_state.period_start,
                       "period_end": billing_state.period_end}, priced))
    if not shown:
        return []
    for row, meter in shown:
        row["meter"] = _meter_out(meter)
        row["price"] = prices.get(row["meter_id"])
        period_start, period_end = parse_iso(row["period_start"]), parse_iso(row["period_end"])
        # The whole period, day by day (days to come are empty), so the chart shows how far the period is.
        row["daily"] = meter_quantities(who.organization_id, meter, [customer.id], period_start,
                                        period_end - timedelta(microseconds=1), "day")["quantities"]
        row["as_of"] = iso(now)
    return sorted((row for row, _ in shown), key=lambda r: r["meter"]["name"].lower())


def subscriptions(who: CustomerPrincipal) -> list[Subscription]:
    subs = [s for s in billing_store.list_subscriptions(who.organization_id) if s.customer_id == who.customer_id]
    return sorted(subs, key=lambda s: s.created_at, reverse=True)


def _organization(who: CustomerPrincipal) -> Any:
    org = organization_store.get(who.organization_id)
    if org is None:
        raise NotFound("organization not found")
    return org


def _usage(who: CustomerPrincipal, sub: Subscription, product: Product, all_meters: dict[str, Meter]
           ) -> list[dict[str, Any]]:
    """Polar's CustomerSubscriptionMeter per meter the product prices: this period's customer meter, and what
    it adds to the upcoming invoice (billing's preview). An ended subscription has no period, so no meters."""
    if sub.status != "active":
        return []
    customer = customers.get(who.organization_id, who.customer_id)
    rows = {row.meter.id: row for row in customer_meters(who.organization_id, customer, all_meters)}
    amounts: dict[str, int] = {}
    for line in billing.preview(who.organization_id, sub.id).lines:
        if line.kind == "metered" and line.meter_id:
            amounts[line.meter_id] = amounts.get(line.meter_id, 0) + line.amount
    out = []
    for meter_id in metered_prices(product):
        priced = all_meters.get(meter_id)
        if priced is None:
            continue
        row = rows.get(meter_id)
        numbers: dict[str, Any] = row.numbers() if row else {
            "consumed_units": 0, "credited_units": 0, "period_start": sub.current_period_start}
        out.append(polar.subscription_meter(who.customer_id, priced, numbers["consumed_units"],
                                            numbers["credited_units"], amounts.get(meter_id, 0),
                                            numbers["period_start"]))
    return out


SUBSCRIPTION_SORT_KEYS = ("started_at", "amount", "status", "organization", "product")


def _subscription_value(row: dict[str, Any], key: str) -> Any:
    return {"organization": row["product"]["organization"]["name"], "product": row["product"]["name"]}.get(
        key, row.get(key))


def polar_subscriptions(who: CustomerPrincipal, product_ids: set[str] | None = None, active: bool | None = None,
                        query: str | None = None, sorting: SortKeys | None = None) -> list[dict[str, Any]]:
    """Polar's CustomerSubscription of each of the customer's subscriptions, newest first unless `sorting`;
    `query` matches the product's or the organization's name."""
    org = _organization(who)
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    rows = []
    for sub in subscriptions(who):
        if (product_ids is not None and sub.product_id not in product_ids) or (
                active is not None and (sub.status == "active") != active):
            continue
        product = billing_store.get_product(who.organization_id, sub.product_id)
        if product is None:
            continue
        if query and query.lower() not in f"{product.name}\n{org.name}".lower():
            continue
        rows.append(polar.subscription_out(sub, product, org, all_meters, _usage(who, sub, product, all_meters)))
    return sort_rows(rows, sorting or [], _subscription_value)


def polar_subscription(who: CustomerPrincipal, subscription_id: str) -> dict[str, Any]:
    """One of the customer's subscriptions in Polar's shape (another customer's is a 404)."""
    return polar_shape(who, selfservice.owned_subscription(who, subscription_id))


def polar_shape(who: CustomerPrincipal, sub: Subscription) -> dict[str, Any]:
    org = _organization(who)
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    product = billing_store.get_product(who.organization_id, sub.product_id)
    if product is None:
        raise NotFound("subscription not found")
    return polar.subscription_out(sub, product, org, all_meters, _usage(who, sub, product, all_meters))


ORDER_SORT_KEYS = ("created_at", "amount", "net_amount", "product", "subscription")


def _order_value(row: dict[str, Any], key: str) -> Any:
    return {"amount": row["total_amount"], "product": (row["product"] or {}).get("name"),
            "subscription": row["subscription_id"]}.get(key, row.get(key))


def polar_orders(who: CustomerPrincipal, product_ids: set[str] | None = None,
                 subscription_ids: set[str] | None = None, billing_types: set[str] | None = None,
                 query: str | None = None, sorting: SortKeys | None = None) -> list[dict[str, Any]]:
    """The customer's invoices as Polar's CustomerOrder, newest first unless `sorting`. Every Meterbill invoice
    bills a subscription (`product_billing_type` recurring); `query` matches the product's or the
    organization's name."""
    org = _organization(who)
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    products: dict[str, Product | None] = {}
    subs: dict[str, Subscription | None] = {}
    rows = []
    for invoice in invoices(who):
        if (product_ids is not None and invoice.product_id not in product_ids) or (
                subscription_ids is not None and invoice.subscription_id not in subscription_ids) or (
                billing_types is not None and "recurring" not in billing_types):
            continue
        product_id, sub_id = invoice.product_id, invoice.subscription_id
        if product_id not in products:
            products[product_id] = billing_store.get_product(who.organization_id, product_id)
        if sub_id not in subs:
            subs[sub_id] = billing_store.get_subscription(who.organization_id, sub_id)
        product = products[product_id]
        if query and query.lower() not in f"{product.name if product else ''}\n{org.name}".lower():
            continue
        rows.append(polar.order_out(invoice, product, subs[sub_id], org, all_meters))
    return sort_rows(rows, sorting or [], _order_value)


def polar_order(who: CustomerPrincipal, invoice_id: str) -> dict[str, Any]:
    found = invoice(who, invoice_id)
    product = billing_store.get_product(who.organization_id, found.product_id)
    sub = billing_store.get_subscription(who.organization_id, found.subscription_id)
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    return polar.order_out(found, product, sub, _organization(who), all_meters)


def invoices(who: CustomerPrincipal) -> list[Invoice]:
    rows = [i for i in billing_store.list_invoices(who.organization_id) if i.customer_id == who.customer_id]
    return sorted(rows, key=lambda i: i.number, reverse=True)


def invoice(who: CustomerPrincipal, invoice_id: str) -> Invoice:
    found = billing_store.get_invoice(who.organization_id, invoice_id)
    if found is None or found.customer_id != who.customer_id:
        raise NotFound("invoice not found")
    return found


def organization(who: CustomerPrincipal) -> dict[str, Any]:
    org = organization_store.get(who.organization_id)
    if org is None:
        raise NotFound("organization not found")
    return {"name": org.name, "branding": org.branding or {}, "seller": org.seller or {}}


def _active_products(who: CustomerPrincipal, subs: list[Subscription]) -> list[Product]:
    found = (billing_store.get_product(who.organization_id, s.product_id) for s in subs if s.status == "active")
    return [p for p in found if p is not None]


def overview(who: CustomerPrincipal) -> dict[str, Any]:
    """The portal's page. `subscription` is the newest active one (its upcoming invoice and plan change); the
    meters are those of every active subscription."""
    customer = customers.get(who.organization_id, who.customer_id)
    subs = subscriptions(who)
    active = next((s for s in subs if s.status == "active"), None)
    product = billing_store.get_product(who.organization_id, active.product_id) if active else None
    upcoming = billing.preview(who.organization_id, active.id) if active else None
    past = invoices(who)
    outstanding = [i for i in past if i.status == "open"]
    all_meters = {m.id: m for m in meter_store.list_all(who.organization_id)}
    return {
        "organization": organization(who), "customer": customer, "subscription": active, "product": product,
        "meters": meter_cards(who, customer, _active_products(who, subs), all_meters), "upcoming": upcoming,
        "invoices": past,
        "credit": customer.balances(),
        # What is left to pay: the amount due (after the credit balance); invoices from before it, their total.
        "balance": {"amount": sum(i.amount_due for i in outstanding), "count": len(outstanding),
                    "currency": outstanding[0].currency if outstanding else upcoming.currency if upcoming else "usd"},
        "meter_names": {k: _meter_out(v) for k, v in all_meters.items()}, "return_url": who.return_url,
        "offered": selfservice.offered_products(who, active) if active else [],
    }


def live_meters(who: CustomerPrincipal) -> dict[str, Any]:
    """The meters part of the overview, for the page's refresh (no invoice preview, no invoice list)."""
    customer = customers.get(who.organization_id, who.customer_id)
    return {"meters": meter_cards(who, customer, _active_products(who, subscriptions(who)))}
