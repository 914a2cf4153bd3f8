"""Signatures a Standard Webhooks receiver and polar-sdk both accept; retry delays that add up to about a day."""

from __future__ import annotations

import base64
import time

import pytest
from polar.v2026_10.webhooks import PolarWebhookVerificationError, validate_event
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from functions.webhooks import retries
from functions.webhooks.signing import new_secret, signature, signed_headers

BODY = '{"type":"customer.state_changed","timestamp":"2026-12-03T10:00:00Z","api_version":"2026-10","data":{}}'


def test_standard_webhooks_verifies_with_the_base64_of_the_secret() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "evt_1", int(time.time()), BODY)
    assert Webhook(base64.b64encode(secret.encode()).decode()).verify(BODY, headers) == {
        "type": "customer.state_changed", "timestamp": "2026-12-03T10:00:00Z", "api_version": "2026-10",
        "data": {}}


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_any_change_breaks_the_signature(tamper: str) -> None:
    secret, now = new_secret(), int(time.time())
    headers = signed_headers(secret, "evt_1", now, BODY)
    body, key = BODY, secret
    if tamper == "body":
        body = BODY.replace("10:00", "10:01")
    elif tamper == "id":
        headers["webhook-id"] = "evt_2"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(now + 1)
    else:
        key = new_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(base64.b64encode(key.encode()).decode()).verify(body, headers)
    with pytest.raises(PolarWebhookVerificationError):
        validate_event(body, headers, key)


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    # Worked with openssl: printf 'evt_1.1700000000.{}' | openssl dgst -sha256 -hmac polar_whs_test -binary | base64
    expected = "v1,7x6IFTZnphj0FOBMyhG5uMaDwcbJ4mqBAYM4LkQ/QZg="
    assert signature("polar_whs_test", "evt_1", 1_700_000_000, "{}") == expected


def test_secrets_are_polar_shaped_and_random() -> None:
    a, b = new_secret(), new_secret()
    assert a.startswith("polar_whs_") and len(a) > 40 and a != b


def test_retries_grow_and_end_within_a_day() -> None:
    delays = [retries.delay_after(n) for n in range(1, retries.MAX_ATTEMPTS)]
    assert delays == sorted(delays) and delays[0] == 30
    assert 23 * 3600 < retries.total_window() <= 24 * 3600
    assert all(d <= retries.MAX_VISIBILITY for d in delays)
    assert retries.delay_after(50) == delays[-1]  # past the schedule: the longest delay (the DLQ takes over)
