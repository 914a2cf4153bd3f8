"""Customer sessions: short-lived portal tokens, stored by hash, removed by the table's TTL after expiry."""

from __future__ import annotations

from typing import Any

from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import session_key


def put(token_hash: str, session: dict[str, Any], expires_epoch: int) -> None:
    dynamo.call("put_item", TableName=dynamo.table_name(),
                Item={**session_key(token_hash), **to_item({**session, "expires_at": expires_epoch})})


def find(token_hash: str) -> dict[str, Any] | None:
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=session_key(token_hash)).get("Item")
    return from_item(item) if item else None
