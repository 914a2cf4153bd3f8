"""Standard Webhooks signatures, as Polar signs its deliveries (pure).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is `v1,` and the base64 of its
HMAC-SHA256 under the endpoint's secret. Polar's key is the secret's own UTF-8 bytes, so a receiver verifies
with polar-sdk's `validate_event(body, headers, secret)`, or with the `standardwebhooks` package given
`base64(secret)` (Polar's documented recipe).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "polar_whs_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {"content-type": "application/json", "webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body)}
