"""Customer sessions and the portal over HTTP: auth, isolation between customers, the JSON API."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx

from functions.auth.tokens import token_hash
from functions.common.clock import iso, utcnow
from functions.customer_sessions.service import SESSION_PREFIX
from functions.store import customer_sessions
from tests.integration.conftest import create_meter


def session(org, external_id: str) -> dict:
    response = org.http.post("/v1/customer-sessions/", json={"external_customer_id": external_id})
    assert response.status_code == 201, response.text
    return response.json()


def setup_customers(org) -> str:
    meter_id = create_meter(org, "Requests", {"func": "count"})
    org.http.post("/v1/events/ingest", json={"events": [
        {"name": "req", "external_customer_id": "alice", "external_id": f"a{i}"} for i in range(3)] + [
        {"name": "req", "external_customer_id": "bob", "external_id": f"b{i}"} for i in range(7)]})
    return meter_id


def test_session_shape_and_token_stored_only_hashed(org, api_url) -> None:
    setup_customers(org)
    created = session(org, "alice")
    assert created["token"].startswith(SESSION_PREFIX)
    assert created["customer_portal_url"] == f"{api_url}/portal?customer_session_token={created['token']}"
    assert created["customer"]["external_id"] == "alice" and created["expires_at"] > iso(utcnow())
    stored = customer_sessions.find(token_hash(created["token"]))
    assert stored is not None and created["token"] not in str(stored)


def test_portal_json_api_shows_only_the_sessions_customer(org, api_url) -> None:
    setup_customers(org)
    alice, bob = session(org, "alice"), session(org, "bob")
    for who, count in ((alice, 3), (bob, 7)):
        body = httpx.get(f"{api_url}/v1/customer-portal/meters/",
                         headers={"Authorization": f"Bearer {who['token']}"}).json()
        assert [m["consumed_units"] for m in body["items"]] == [count]
        assert {m["customer_id"] for m in body["items"]} == {who["customer_id"]}


def test_link_sets_cookie_and_page_renders_without_javascript(org, api_url) -> None:
    setup_customers(org)
    alice = org.http.post("/v1/customer-sessions/", json={"external_customer_id": "alice",
                                                          "return_url": "https://app.example.com/account"}).json()
    with httpx.Client(base_url=api_url) as browser:
        redirect = browser.get(alice["customer_portal_url"].replace(api_url, ""))
        assert redirect.status_code == 303 and redirect.headers["location"] == "/portal"
        assert "HttpOnly" in redirect.headers["set-cookie"]
        page = browser.get("/portal")
        assert page.status_code == 200 and "Requests" in page.text
        assert 'data-field="consumed">3<' in page.text and "No active subscription" in page.text
        assert 'href="https://app.example.com/account"' in page.text


def test_expired_foreign_and_org_tokens_get_401_and_no_data(org, other_org, api_url) -> None:
    setup_customers(org)
    alice = session(org, "alice")
    stored = customer_sessions.find(token_hash(alice["token"]))
    assert stored is not None
    customer_sessions.put(token_hash(alice["token"]), replace(stored, expires=iso(utcnow() - timedelta(seconds=1))), 0)
    for token in (alice["token"], "mb_cst_made-up", org.token, "x"):
        response = httpx.get(f"{api_url}/v1/customer-portal/meters/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and "items" not in response.text
    expired_link = httpx.get(f"{api_url}/portal", params={"customer_session_token": alice["token"]})
    assert expired_link.status_code == 401 and "expired" in expired_link.text
    # A session token is not an organization token either.
    fresh = session(org, "bob")
    assert httpx.get(f"{api_url}/v1/meters/", headers={"Authorization": f"Bearer {fresh['token']}"}).status_code == 401
    # Another organization cannot open a session for this organization's customer.
    assert other_org.http.post("/v1/customer-sessions/", json={"external_customer_id": "alice"}).status_code == 404


def test_portal_invoice_pdf_is_only_the_customers_own(org, api_url) -> None:
    meter_id = setup_customers(org)
    product = org.http.post("/v1/products/", json={"name": "Team", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 1500},
        {"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "10"}]}).json()
    org.http.post("/v1/subscriptions/", json={"external_customer_id": "alice", "product_id": product["id"]})
    org.http.post("/v1/subscriptions/", json={"external_customer_id": "bob", "product_id": product["id"]})
    alice, bob = session(org, "alice"), session(org, "bob")
    alice_invoices = httpx.get(f"{api_url}/v1/customer-portal/invoices/",
                               headers={"Authorization": f"Bearer {alice['token']}"}).json()["items"]
    assert len(alice_invoices) == 1
    pdf_path = f"/portal/invoices/{alice_invoices[0]['id']}/pdf"
    own = httpx.get(api_url + pdf_path, headers={"Authorization": f"Bearer {alice['token']}"})
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    other = httpx.get(api_url + pdf_path, headers={"Authorization": f"Bearer {bob['token']}"})
    assert other.status_code == 404
