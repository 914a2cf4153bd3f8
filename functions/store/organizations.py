"""Organizations and their access tokens (stored by hash only)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.clock import iso, utcnow
from functions.common.errors import Conflict
from functions.store import dynamo
from functions.store.codec import from_item, to_attr, to_item
from functions.store.keys import organization_key as org_key
from functions.store.keys import token_key


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    created_at: str
    # Beyond Polar's shape: how the portal and the invoices present the organization (docs/portal.md).
    branding: dict | None = None  # logo_url, accent_color, support_email
    seller: dict | None = None  # legal_name, address, tax_id: printed on invoices
    payment_terms_days: int | None = None  # an invoice is due this many days after it is issued
    portal_products: list | None = None  # products a customer may switch to in the portal
    modified_at: str | None = None


PROFILE_FIELDS = ("name", "branding", "seller", "payment_terms_days", "portal_products")


@dataclass(frozen=True)
class AccessToken:
    organization_id: str
    scopes: frozenset[str]


def create(org: Organization, token_hash: str, scopes: tuple[str, ...]) -> None:
    """The organization and its first token land together."""
    table = dynamo.table_name()
    reasons = dynamo.transact(
        [
            {
                "Put": {
                    "TableName": table,
                    "Item": {
                        **org_key(org.id),
                        **to_item({"id": org.id, "name": org.name, "created_at": org.created_at}),
                    },
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {"Put": {"TableName": table, "Item": _token_item(org.id, token_hash, scopes)}},
        ]
    )
    if reasons is not None:
        raise Conflict("the organization could not be created; retry")


def add_token(org_id: str, token_hash: str, scopes: tuple[str, ...]) -> None:
    dynamo.call("put_item", TableName=dynamo.table_name(), Item=_token_item(org_id, token_hash, scopes))


def _token_item(org_id: str, token_hash: str, scopes: tuple[str, ...]) -> dict:
    return {
        **token_key(token_hash),
        **to_item({"organization_id": org_id, "scopes": list(scopes), "created_at": iso(utcnow())}),
    }


def get(org_id: str) -> Organization | None:
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=org_key(org_id)).get("Item")
    if not item:
        return None
    data = from_item(item)
    return Organization(id=data["id"], name=data["name"], created_at=data["created_at"],
                        branding=data.get("branding"), seller=data.get("seller"),
                        payment_terms_days=data.get("payment_terms_days"), portal_products=data.get("portal_products"),
                        modified_at=data.get("modified_at"))


def update_profile(org_id: str, changes: dict, modified_at: str) -> None:
    """Set the given profile fields (a None value removes one); the organization must exist."""
    sets, removes = ["modified_at = :modified_at"], []
    names, values = {}, {":modified_at": {"S": modified_at}}
    for index, (field, value) in enumerate(sorted(changes.items())):
        if field not in PROFILE_FIELDS:
            raise ValueError(f"{field} is not a profile field")
        names[f"#f{index}"] = field
        if value is None:
            removes.append(f"#f{index}")
        else:
            sets.append(f"#f{index} = :v{index}")
            values[f":v{index}"] = to_attr(value)
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    dynamo.call("update_item", TableName=dynamo.table_name(), Key=org_key(org_id), UpdateExpression=expression,
                ExpressionAttributeNames={"#pk": "PK", **names}, ExpressionAttributeValues=values,
                ConditionExpression="attribute_exists(#pk)")


def find_token(token_hash: str) -> AccessToken | None:
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=token_key(token_hash)).get("Item")
    if not item:
        return None
    data = from_item(item)
    return AccessToken(organization_id=data["organization_id"], scopes=frozenset(data["scopes"]))
