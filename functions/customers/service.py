"""Customers: Polar's individual customer, created by the API or on first sight of an external id."""

from __future__ import annotations

from typing import Any

from functions.common.clock import iso, utcnow
from functions.common.errors import NotFound
from functions.common.ids import new_id
from functions.store import customers as store


def new_customer(org_id: str, *, external_id: str | None, email: str = "", name: str | None = None,
                 metadata: dict[str, Any] | None = None, billing_address: dict[str, Any] | None = None,
                 tax_exempt: bool = False) -> dict[str, Any]:
    return {
        "id": new_id(),
        "organization_id": org_id,
        "external_id": external_id,
        "email": email,
        "name": name,
        "metadata": metadata or {},
        "billing_address": billing_address,
        "tax_exempt": tax_exempt,
        "created_at": iso(utcnow()),
        "modified_at": None,
        "deleted_at": None,
    }


def create(org_id: str, **fields: Any) -> dict[str, Any]:
    customer = new_customer(org_id, **fields)
    store.create(org_id, customer)
    return customer


def get(org_id: str, customer_id: str) -> dict[str, Any]:
    customer = store.get(org_id, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    return customer


def get_by_external_id(org_id: str, external_id: str) -> dict[str, Any]:
    found = store.ids_by_external_id(org_id, [external_id])
    if external_id not in found:
        raise NotFound("customer not found")
    return get(org_id, found[external_id])


def resolve_external_ids(org_id: str, external_ids: list[str]) -> dict[str, str]:
    """external id -> customer id, creating the customers not seen before (Polar keeps their events)."""
    found = store.ids_by_external_id(org_id, external_ids)
    for external_id in dict.fromkeys(external_ids):
        if external_id in found:
            continue
        customer = new_customer(org_id, external_id=external_id)
        try:
            store.create(org_id, customer)
            found[external_id] = customer["id"]
        except Exception:
            # Another request created it first: use that one.
            again = store.ids_by_external_id(org_id, [external_id])
            if external_id not in again:
                raise
            found[external_id] = again[external_id]
    return found


def update(org_id: str, customer_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    before = get(org_id, customer_id)
    after = {**before, **changes, "modified_at": iso(utcnow())}
    if before.get("external_id") and "external_id" in changes and changes["external_id"] != before["external_id"]:
        from functions.common.errors import ValidationFailed, field_error

        raise ValidationFailed([field_error(["body", "external_id"], "external_id can't be changed once set")])
    store.replace(org_id, before, after)
    return after


def delete(org_id: str, customer_id: str) -> None:
    customer = get(org_id, customer_id)
    customer["deleted_at"] = iso(utcnow())
    store.soft_delete(org_id, customer)


def selected(org_id: str, customer_id: str | None, external_customer_id: str | None) -> list[dict[str, Any]]:
    """The customers a list filter names: one by id, one by external id, or every customer of the organization.
    An unknown one selects nobody (an empty list, not a 404)."""
    if customer_id:
        found = store.get(org_id, customer_id)
        return [found] if found else []
    if external_customer_id:
        try:
            return [get_by_external_id(org_id, external_customer_id)]
        except NotFound:
            return []
    return store.list_all(org_id)
