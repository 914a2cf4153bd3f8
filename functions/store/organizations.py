"""Organizations and their access tokens (stored by hash only)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.clock import iso, utcnow
from functions.common.errors import Conflict
from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import organization_key as org_key
from functions.store.keys import token_key


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    created_at: str


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
    return Organization(id=data["id"], name=data["name"], created_at=data["created_at"])


def find_token(token_hash: str) -> AccessToken | None:
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=token_key(token_hash)).get("Item")
    if not item:
        return None
    data = from_item(item)
    return AccessToken(organization_id=data["organization_id"], scopes=frozenset(data["scopes"]))
