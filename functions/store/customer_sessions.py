"""Customer sessions: short-lived portal tokens, stored by hash, removed by the table's TTL after expiry."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import session_key


@dataclass(frozen=True, slots=True)
class CustomerSession:
    id: str
    organization_id: str
    customer_id: str
    expires: str  # ISO 8601; the item's `expires_at` (epoch seconds) is the table's TTL attribute
    return_url: str | None
    created_at: str


def put(token_hash: str, session: CustomerSession, expires_epoch: int) -> None:
    dynamo.call("put_item", TableName=dynamo.table_name(),
                Item={**session_key(token_hash), **to_item({**asdict(session), "expires_at": expires_epoch})})


def find(token_hash: str) -> CustomerSession | None:
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=session_key(token_hash)).get("Item")
    if not item:
        return None
    data = from_item(item)
    return CustomerSession(id=data["id"], organization_id=data["organization_id"], customer_id=data["customer_id"],
                           expires=data["expires"], return_url=data.get("return_url"), created_at=data["created_at"])
