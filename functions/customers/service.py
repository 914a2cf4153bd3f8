"""Customers: Polar's individual customer, created by the API or on first sight of an external id; and the
customer state (the customer with its active meters and the thresholds crossed this period)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.common.clock import iso, utcnow
from functions.common.errors import AlreadyExists, Conflict, NotFound, ValidationFailed, field_error
from functions.common.ids import new_id
from functions.common.listing import SortKeys, metadata_matches, sort_rows
from functions.store import customers as store
from functions.store import meters as meter_store
from functions.store import thresholds as threshold_store
from functions.store.customers import CustomerRef
from functions.store.entities import Customer
from functions.store.thresholds import Crossing

if TYPE_CHECKING:  # imported where used: the ingest Lambda resolves customers here and reads no customer meters
    from functions.customer_meters.service import CustomerMeter

__all__ = ["CustomerRef"]


def new_customer(org_id: str, *, external_id: str | None, email: str = "", name: str | None = None,
                 metadata: dict[str, Any] | None = None, billing_address: dict[str, Any] | None = None,
                 tax_exempt: bool = False, tax_id: str | None = None,
                 payment_terms_days: int | None = None) -> Customer:
    return Customer(id=new_id(), organization_id=org_id, created_at=iso(utcnow()), external_id=external_id,
                    email=email, name=name, metadata=metadata or {}, billing_address=billing_address,
                    tax_exempt=tax_exempt, tax_id=tax_id, payment_terms_days=payment_terms_days)


def _taken(exc: AlreadyExists) -> ValidationFailed:
    """A uniqueness rule the store kept, as the request's field errors (Polar answers 422)."""
    return ValidationFailed([field_error(["body", f], f"a customer with this {f} already exists", "value_error")
                             for f in exc.fields])


def create(org_id: str, **fields: Any) -> Customer:
    customer = new_customer(org_id, **fields)
    try:
        store.create(org_id, customer)
    except AlreadyExists as exc:
        raise _taken(exc) from exc
    return customer


def get(org_id: str, customer_id: str) -> Customer:
    """By id alone (an id the caller already holds, as the portal's session does): one read, never the
    external-id pointer (the portal's role reads no batch of items)."""
    customer = store.get(org_id, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    return customer


def get_by_external_id(org_id: str, external_id: str) -> Customer:
    return store.resolve(org_id, CustomerRef(external_customer_id=external_id))


def resolve(org_id: str, ref: CustomerRef) -> Customer:
    return store.resolve(org_id, ref)


SORT_KEYS = ("created_at", "email", "name")
EXPORT_COLUMNS = ("id", "external_id", "created_at", "email", "name", "billing_address_line1",
                  "billing_address_line2", "billing_address_postal_code", "billing_address_city",
                  "billing_address_state", "billing_address_country", "tax_exempt", "metadata")


def list_customers(org_id: str, email: str | None = None, query: str | None = None, *,
                   sorting: SortKeys | None = None, metadata: dict[str, list[str]] | None = None
                   ) -> list[Customer]:
    """Newest first unless `sorting` says otherwise (created_at, email, name); `email` matches exactly (any
    case), `query` is a substring of email, name or external id; `metadata` keeps the customers whose metadata
    has, for every key, one of its values."""
    rows = _filtered(org_id, email, query)
    if metadata:
        rows = [c for c in rows if metadata_matches(c.metadata, metadata)]
    if sorting:
        rows = sort_rows(rows, sorting, lambda c, key: getattr(c, key) or None)
    return rows


def export_csv(org_id: str) -> str:
    """Every customer, oldest first, one CSV row each (EXPORT_COLUMNS; metadata as JSON)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in sorted(store.list_all(org_id), key=lambda c: (c.created_at, c.id)):
        address = c.billing_address or {}
        writer.writerow([c.id, c.external_id or "", c.created_at, c.email or "",
                         c.name or "", *(address.get(k) or "" for k in ("line1", "line2", "postal_code",
                                                                      "city", "state", "country")),
                         "true" if c.tax_exempt else "false",
                         json.dumps(c.metadata or {}, default=_number, sort_keys=True)])
    return out.getvalue()


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)


def _filtered(org_id: str, email: str | None, query: str | None) -> list[Customer]:
    rows = store.list_all(org_id)
    if email:
        rows = [c for c in rows if (c.email or "").lower() == email.lower()]
    if query:
        q = query.lower()
        rows = [c for c in rows if q in " ".join(v or "" for v in (c.email, c.name, c.external_id)).lower()]
    rows.sort(key=lambda c: c.created_at, reverse=True)
    return rows


def resolve_external_ids(org_id: str, external_ids: list[str]) -> dict[str, str]:
    """external id -> customer id, creating the customers not seen before (Polar keeps their events)."""
    found = store.ids_by_external_id(org_id, external_ids)
    for external_id in dict.fromkeys(external_ids):
        if external_id in found:
            continue
        customer = new_customer(org_id, external_id=external_id)
        try:
            store.create(org_id, customer)
            found[external_id] = customer.id
        except Exception:
            # Another request created it first: use that one.
            again = store.ids_by_external_id(org_id, [external_id])
            if external_id not in again:
                raise
            found[external_id] = again[external_id]
    return found


UPDATE_ATTEMPTS = 3


def update(org_id: str, ref: CustomerRef, changes: dict[str, Any]) -> Customer:
    """`changes`: the fields a CustomerUpdate set, by the entity's field names. The customer is written whole,
    on the condition that its credit balance is still the one read: an invoice that moved it in between makes
    the update read again and retry (a customer gone meanwhile is a 404 on the re-read)."""
    attempts = 0
    while True:
        attempts += 1
        before = resolve(org_id, ref)
        after = replace(before, **changes, modified_at=iso(utcnow()))
        if before.external_id and "external_id" in changes and changes["external_id"] != before.external_id:
            raise ValidationFailed([field_error(["body", "external_id"], "external_id can't be changed once set")])
        try:
            store.replace(org_id, before, after)
        except AlreadyExists as exc:
            raise _taken(exc) from exc
        except Conflict:
            if attempts == UPDATE_ATTEMPTS:
                raise
            continue
        return after


def delete(org_id: str, ref: CustomerRef) -> None:
    """As Polar: the customer's active subscriptions are cancelled now (each final invoice bills the usage so far),
    then the customer is deleted. A crash in between leaves a customer without a subscription, and the retried
    DELETE finishes; a subscription is never left behind for the close to trip over."""
    # Imported here: the ingest Lambda resolves customers through this module and never deletes one.
    from functions.billing import invoices, subscriptions

    customer = resolve(org_id, ref)
    for subscription_id in sorted(customer.billing):
        subscriptions.revoke(org_id, subscription_id, publish=invoices.publish)
    if customer.billing:
        customer = resolve(org_id, ref)  # each revoke removed its subscription's billing state
    store.soft_delete(org_id, replace(customer, deleted_at=iso(utcnow())))


def state(org_id: str, ref: CustomerRef) -> tuple[Customer, list[CustomerMeter], list[Crossing]]:
    """The customer, its active meters (customer_meters rows) and the thresholds crossed in their periods."""
    # Imported here: the ingest Lambda resolves customers through this module and reads no customer meters.
    from functions.customer_meters.service import customer_meters

    customer = resolve(org_id, ref)
    meters = {m.id: m for m in meter_store.list_all(org_id)}
    active = customer_meters(org_id, customer, meters)
    periods = {row.meter.id: row.period_start for row in active}
    crossed = [c for c in threshold_store.for_customer(org_id, customer.id)
               if periods.get(c.meter_id) == c.period_start]
    return customer, active, crossed
