"""Customers, with uniqueness of external id and email kept by pointer items in the same transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from functions.common.errors import AlreadyExists, Conflict, NotFound
from functions.store import dynamo
from functions.store.codec import entity_from_values, entity_item, from_item, to_attr, to_item
from functions.store.entities import BillingState, Customer
from functions.store.keys import (
    BILLING_PREFIX,
    CUSTOMER_PREFIX,
    billing_attribute,
    customer_email_sk,
    customer_external_sk,
    customer_sk,
    external_id_of,
    key,
    org_pk,
)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A customer named by exactly one of its id or its external id (the API's `customer_id` /
    `external_customer_id` pair everywhere)."""

    customer_id: str | None = None
    external_customer_id: str | None = None

    def __post_init__(self) -> None:
        if (self.customer_id is None) == (self.external_customer_id is None):
            raise ValueError("give exactly one of customer_id or external_customer_id")

    @classmethod
    def optional(cls, customer_id: str | None, external_customer_id: str | None) -> CustomerRef | None:
        """A list filter's reference: None when neither is given (every customer); the id wins if both are."""
        if customer_id:
            return cls(customer_id=customer_id)
        if external_customer_id:
            return cls(external_customer_id=external_customer_id)
        return None


def customer_from_item(item: dict[str, Any]) -> Customer:
    values = from_item(item)
    values["billing"] = {name[len(BILLING_PREFIX):]: entity_from_values(BillingState, state)
                         for name, state in values.items() if name.startswith(BILLING_PREFIX)}
    return entity_from_values(Customer, values)


def customer_item(customer: Customer) -> dict[str, Any]:
    """A customer's attributes: each subscription's billing state is an attribute of its own, so that writes of
    two subscriptions' states (in their own transactions) never overwrite each other."""
    item = entity_item(customer)
    item.pop("billing", None)
    for subscription_id, state in customer.billing.items():
        item[billing_attribute(subscription_id)] = to_attr(asdict(state))
    return item


def find(org_id: str, ref: CustomerRef) -> Customer | None:
    """The one resolver of a CustomerRef: the live customer it names, or None."""
    if ref.customer_id is not None:
        return get(org_id, ref.customer_id)
    external_id = ref.external_customer_id or ""
    found = ids_by_external_id(org_id, [external_id])
    return get(org_id, found[external_id]) if external_id in found else None


def resolve(org_id: str, ref: CustomerRef) -> Customer:
    customer = find(org_id, ref)
    if customer is None:
        raise NotFound("customer not found")
    return customer


def select(org_id: str, ref: CustomerRef | None) -> list[Customer]:
    """The customers a list filter names: the one a reference names, or every customer of the organization
    (None). An unknown one selects nobody (an empty list, not a 404)."""
    if ref is None:
        return list_all(org_id)
    found = find(org_id, ref)
    return [found] if found else []


def _pointer_put(table: str, org_id: str, sk: str, customer_id: str) -> dict:
    return {
        "Put": {
            "TableName": table,
            "Item": {**key(org_pk(org_id), sk), "customer_id": {"S": customer_id}},
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def create(org_id: str, customer: Customer) -> None:
    """Raises AlreadyExists naming the field when the external id or email is taken."""
    table = dynamo.table_name()
    actions: list[dict] = [
        {
            "Put": {
                "TableName": table,
                "Item": {**key(org_pk(org_id), customer_sk(customer.id)), **customer_item(customer)},
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
    ]
    unique: list[str] = ["id"]
    if customer.external_id:
        actions.append(_pointer_put(table, org_id, customer_external_sk(customer.external_id), customer.id))
        unique.append("external_id")
    if customer.email:
        actions.append(_pointer_put(table, org_id, customer_email_sk(customer.email), customer.id))
        unique.append("email")
    _transact_unique(actions, unique)


def _transact_unique(actions: list[dict], fields: list[str]) -> None:
    reasons = dynamo.transact(actions)
    if reasons is None:
        return
    taken = [f for f, r in zip(fields, reasons, strict=False) if r.get("Code") == "ConditionalCheckFailed"]
    if "id" in taken:
        raise Conflict("the customer changed or no longer exists")
    if not taken:
        raise Conflict("the customer was changed concurrently; retry")
    raise AlreadyExists("customer", taken)


def get(org_id: str, customer_id: str, include_deleted: bool = False) -> Customer | None:
    item = dynamo.call(
        "get_item", TableName=dynamo.table_name(), Key=key(org_pk(org_id), customer_sk(customer_id))
    ).get("Item")
    if not item:
        return None
    customer = customer_from_item(item)
    return None if customer.deleted_at and not include_deleted else customer


def get_many(org_id: str, customer_ids: list[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    ids = list(dict.fromkeys(customer_ids))
    for start in range(0, len(ids), 100):
        keys = [key(org_pk(org_id), customer_sk(c)) for c in ids[start : start + 100]]
        for item in dynamo.batch_get(keys):
            customer = customer_from_item(item)
            if not customer.deleted_at:
                found[customer.id] = customer
    return found


def ids_by_external_id(org_id: str, external_ids: list[str]) -> dict[str, str]:
    ids = list(dict.fromkeys(external_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 100):
        keys = [key(org_pk(org_id), customer_external_sk(e)) for e in ids[start : start + 100]]
        for item in dynamo.batch_get(keys):
            found[external_id_of(item["SK"]["S"])] = item["customer_id"]["S"]
    return found


def list_all(org_id: str) -> list[Customer]:
    items = dynamo.query_all(
        TableName=dynamo.table_name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": org_pk(org_id)}, ":prefix": {"S": CUSTOMER_PREFIX}},
    )
    customers = [customer_from_item(item) for item in items]
    return [c for c in customers if not c.deleted_at]


def _unchanged_since_read(customer: Customer) -> dict[str, Any]:
    """The condition of a whole-item Put of a customer read earlier: its credit balance and its subscriptions'
    billing states are still the ones read (an invoice or a renewal in between must not be undone by writing
    the old ones back)."""
    conditions = []
    for name, value in (("#bv", customer.balance_version), ("#gv", customer.billing_version)):
        conditions.append(f"({name} = :{name[1:]}" + (f" OR attribute_not_exists({name}))" if not value else ")"))
    return {"ConditionExpression": "attribute_exists(PK) AND " + " AND ".join(conditions),
            "ExpressionAttributeNames": {"#bv": "balance_version", "#gv": "billing_version"},
            "ExpressionAttributeValues": {":bv": {"N": str(customer.balance_version)},
                                          ":gv": {"N": str(customer.billing_version)}}}


def replace(org_id: str, before: Customer, after: Customer) -> None:
    """Write the updated customer; move the external id and email pointers when they changed."""
    table = dynamo.table_name()
    actions: list[dict] = [
        {
            "Put": {
                "TableName": table,
                "Item": {**key(org_pk(org_id), customer_sk(after.id)), **customer_item(after)},
                **_unchanged_since_read(before),
            }
        }
    ]
    unique = ["id"]
    for name, old, new, pointer_sk in (
        ("external_id", before.external_id or "", after.external_id or "", customer_external_sk),
        ("email", before.email or "", after.email or "", customer_email_sk),
    ):
        if old.lower() == new.lower():
            continue
        if new:
            actions.insert(len(unique), _pointer_put(table, org_id, pointer_sk(new), after.id))
            unique.append(name)
        if old:
            actions.append({"Delete": {"TableName": table, "Key": key(org_pk(org_id), pointer_sk(old))}})
    _transact_unique(actions, unique)


def set_billing_details(org_id: str, customer_id: str, details: dict[str, Any], modified_at: str) -> None:
    """Billing name, address and tax id, set in place (the customer portal's edit; None removes one)."""
    sets, removes, values = ["modified_at = :at"], [], {":at": {"S": modified_at}}
    names = {"#pk": "PK", "#deleted": "deleted_at"}
    for index, (attribute, value) in enumerate(sorted(details.items())):
        names[f"#f{index}"] = attribute
        if value is None:
            removes.append(f"#f{index}")
        else:
            sets.append(f"#f{index} = :v{index}")
            values[f":v{index}"] = to_item({"v": value})["v"]
    dynamo.call("update_item", TableName=dynamo.table_name(), Key=key(org_pk(org_id), customer_sk(customer_id)),
                UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(#deleted)",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values)


def soft_delete(org_id: str, customer: Customer) -> None:
    """The customer is kept (its events and invoices refer to it) but its external id and email are freed."""
    table = dynamo.table_name()
    actions: list[dict] = [
        {
            "Put": {
                "TableName": table,
                "Item": {**key(org_pk(org_id), customer_sk(customer.id)), **customer_item(customer)},
                **_unchanged_since_read(customer),
            }
        }
    ]
    for sk in (
        customer_external_sk(customer.external_id) if customer.external_id else None,
        customer_email_sk(customer.email) if customer.email else None,
    ):
        if sk:
            actions.append({"Delete": {"TableName": table, "Key": key(org_pk(org_id), sk)}})
    if dynamo.transact(actions) is not None:
        raise Conflict("the customer was changed concurrently; retry")

