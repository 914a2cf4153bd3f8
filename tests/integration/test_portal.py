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
    # Another organization cannot open a session for this organization's customer (unknown to it: a 422, as Polar).
    assert other_org.http.post("/v1/customer-sessions/", json={"external_customer_id": "alice"}).status_code == 422


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


NBSP = "\u00a0"


def billed_customer(org, *, tiers: bool = False) -> dict:
    """A customer on a product with a token meter (10,000 included, then 0.002 cents a token, or tiers),
    a 20% VAT for its country, and 14,780 tokens used today."""
    meter = org.http.post("/v1/meters/", json={
        "name": "LLM tokens", "unit": "token", "aggregation": {"func": "sum", "property": "tokens"},
        "filter": {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "llm"}]}})
    assert meter.status_code == 201, meter.text
    meter_id = meter.json()["id"]
    priced = ({"amount_type": "metered_tiers", "meter_id": meter_id, "credited_units": 10_000,
               "tiers": {"type": "graduated", "tiers": [{"bound": 2000, "unit_amount": "0.01"},
                                                        {"unit_amount": "0.001"}]}} if tiers else
              {"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "0.002",
               "credited_units": 10_000})
    product = org.http.post("/v1/products/", json={"name": "Pro", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 2000}, priced]}).json()
    assert org.http.post("/v1/tax-rates", json={"name": "VAT", "country": "FR", "basis_points": 2000}
                         ).status_code == 201
    org.http.post("/v1/customers/", json={"email": "lin@example.com", "name": "Lin", "external_id": "lin",
                                          "billing_address": {"country": "FR", "city": "Lyon"}})
    assert org.http.post("/v1/subscriptions/", json={"external_customer_id": "lin", "product_id": product["id"]}
                         ).status_code == 201
    org.http.post("/v1/events/ingest", json={"events": [
        {"name": "llm", "external_customer_id": "lin", "external_id": f"t{i}", "metadata": {"tokens": n}}
        for i, n in enumerate((10_000, 4_000, 780))]})
    return {"meter_id": meter_id, "product": product, "session": session(org, "lin")}


def portal_html(api_url: str, token: str, language: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}", **({"Accept-Language": language} if language else {})}
    page = httpx.get(f"{api_url}/portal", headers=headers)
    assert page.status_code == 200, page.text
    return page.text


def test_meter_card_in_words_with_chart_in_the_customers_locale(org, api_url) -> None:
    setup = billed_customer(org)
    token = setup["session"]["token"]
    page = portal_html(api_url, token, "de-DE,de;q=0.9,en;q=0.5")
    assert (f"14.780 tokens used: 4.780 tokens over the 10.000 included, billed at 0,02{NBSP}USD per "
            f"1.000 tokens.") in page
    assert 'data-field="over">4.780<' in page and 'aria-valuenow="100"' in page
    assert 'data-chart="daily"' in page and page.count("<rect ") >= 1
    assert "Daily usage this period: 14.780 tokens in the first 1 of " in page  # same total, day by day
    english = portal_html(api_url, token)
    assert "14,780 tokens used: 4,780 tokens over the 10,000 included" in english
    # The refresh fragment is the same card, alone.
    fragment = httpx.get(f"{api_url}/portal/fragments/meters", headers={"Authorization": f"Bearer {token}"})
    assert fragment.status_code == 200 and 'data-field="consumed">14,780<' in fragment.text
    assert "<html" not in fragment.text
    assert httpx.get(f"{api_url}/portal/fragments/meters").status_code == 401


def test_upcoming_invoice_lines_tax_rate_issue_and_due_dates(org, api_url) -> None:
    setup = billed_customer(org, tiers=True)
    page = portal_html(api_url, setup["session"]["token"])
    # 4,780 billable tokens: 2,000 at 0.01 cents + 2,780 at 0.001 cents = 20 + 2.78 = 22.78 cents -> 0.23 USD.
    assert "14,780 tokens used, 10,000 covered by the 10,000 included; 4,780 billable." in page
    assert f"Tier 1 to 2,000: 2,000 \u00d7 0.0001{NBSP}USD = 0.20{NBSP}USD." in page
    assert f"Tier 2,001 and above: 2,780 \u00d7 0.00001{NBSP}USD = 0.03{NBSP}USD." in page
    assert "Tax (VAT 20%, added)" in page
    # Next month's 20.00 fee + 0.23 usage = 20.23, plus 20% VAT = 4.05 -> 24.28.
    assert f'data-field="upcoming-total">24.28{NBSP}USD<' in page
    sub = org.http.get("/v1/subscriptions/").json()["items"][0]
    assert f'data-field="issue-date"><time datetime="{sub["current_period_end"]}">' in page
    assert 'data-field="due-date"><time datetime="' in page
    # The past invoice (the first month's fee, billed in advance) has a due date 14 days after issue and a PDF.
    invoices = httpx.get(f"{api_url}/v1/customer-portal/invoices/",
                         headers={"Authorization": f"Bearer {setup['session']['token']}"}).json()["items"]
    assert len(invoices) == 1 and [t["basis_points"] for t in invoices[0]["taxes"]] == [2000]
    assert invoices[0]["due_at"][:10] > invoices[0]["created_at"][:10]
    assert f'href="/portal/invoices/{invoices[0]["id"]}/pdf"' in page and "Open, unpaid" in page
    assert f"Balance due on past invoices: <strong>24.00{NBSP}USD</strong> (1 open invoice)" in page


def test_branding_set_through_the_organization_api_shows_in_portal_and_invoices(org, other_org, api_url) -> None:
    path = f"/v1/organizations/{org.id}"
    body = {"name": "Acme AI", "branding": {"logo_url": "https://cdn.example.com/acme.png",
                                            "accent_color": "#ffd33d", "support_email": "billing@acme.example"},
            "seller": {"legal_name": "Acme AI SAS", "tax_id": "FR12345678901",
                       "address": {"line1": "1 rue de la Paix", "city": "Paris", "country": "FR"}},
            "payment_terms_days": 30}
    updated = org.http.patch(path, json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["branding"]["accent_color"] == "#ffd33d" and updated.json()["payment_terms_days"] == 30
    # Partial update merges; null clears one key.
    again = org.http.patch(path, json={"branding": {"logo_url": None}}).json()
    assert again["branding"] == {"accent_color": "#ffd33d", "support_email": "billing@acme.example"}
    org.http.patch(path, json={"branding": {"logo_url": "https://cdn.example.com/acme.png"}})
    assert org.http.get(path).json()["seller"]["legal_name"] == "Acme AI SAS"
    bad = org.http.patch(path, json={"branding": {"accent_color": "red", "logo_url": "javascript:alert(1)",
                                                  "support_email": "nope"}})
    assert bad.status_code == 422
    assert {tuple(e["loc"][-1:]) for e in bad.json()["detail"]} == {
        ("accent_color",), ("logo_url",), ("support_email",)}
    assert other_org.http.patch(path, json={"name": "hijack"}).status_code == 404
    assert org.http.get(path).json()["name"] == "Acme AI"
    from functions.organizations.service import create_token
    read_only = create_token(org.id, ("organizations:read",))
    assert httpx.patch(api_url + path, json={"name": "x"},
                       headers={"Authorization": f"Bearer {read_only}"}).status_code == 403

    setup = billed_customer(org)
    page = portal_html(api_url, setup["session"]["token"])
    assert 'data-field="org-name">Acme AI<' in page and 'src="https://cdn.example.com/acme.png"' in page
    assert "--accent: #ffd33d; --on-accent: #000000;" in page
    assert 'href="mailto:billing@acme.example"' in page and "Billed by Acme AI SAS" in page
    assert "FR12345678901" in page
    invoice = httpx.get(f"{api_url}/v1/customer-portal/invoices/",
                        headers={"Authorization": f"Bearer {setup['session']['token']}"}).json()["items"][0]
    assert invoice["seller"]["legal_name"] == "Acme AI SAS" and invoice["seller"]["email"] == "billing@acme.example"
    assert (utc(invoice["due_at"]) - utc(invoice["created_at"])).days == 30


def utc(value: str):
    from functions.common.clock import parse_iso

    return parse_iso(value)


def self_service_setup(org) -> dict:
    """Basic (10.00) on a customer; Pro (30.00, monthly) and Yearly offered in the portal; Hidden not offered."""
    def product(name: str, amount: int, interval: str = "month") -> str:
        response = org.http.post("/v1/products/", json={"name": name, "recurring_interval": interval,
                                                        "prices": [{"amount_type": "fixed", "price_amount": amount}]})
        assert response.status_code == 201, response.text
        return response.json()["id"]
    ids = {name: product(name, amount, interval) for name, amount, interval in (
        ("Basic", 1000, "month"), ("Pro", 3000, "month"), ("Yearly", 30000, "year"), ("Hidden", 500, "month"))}
    bad = org.http.patch(f"/v1/organizations/{org.id}", json={"portal_products": [ids["Pro"], "nope"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "portal_products", 1]
    assert org.http.patch(f"/v1/organizations/{org.id}", json={"portal_products": [ids["Pro"], ids["Yearly"]]}
                          ).status_code == 200
    for who in ("alice", "bob"):
        org.http.post("/v1/customers/", json={"email": f"{who}@example.com", "external_id": who})
        assert org.http.post("/v1/subscriptions/", json={"external_customer_id": who, "product_id": ids["Basic"]}
                             ).status_code == 201
    subs = {s["customer_id"]: s["id"] for s in org.http.get("/v1/subscriptions/").json()["items"]}
    alice, bob = session(org, "alice"), session(org, "bob")
    return {"ids": ids, "alice": alice, "bob": bob, "alice_sub": subs[alice["customer_id"]],
            "bob_sub": subs[bob["customer_id"]]}


def test_self_service_change_cancel_details_each_audited(org, other_org, api_url) -> None:
    setup = self_service_setup(org)
    ids, sub = setup["ids"], setup["alice_sub"]
    alice = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {setup['alice']['token']}"})
    base = f"/v1/customer-portal/subscriptions/{sub}"

    offered = alice.get(f"{base}/products").json()["items"]
    assert [p["name"] for p in offered] == ["Pro"]  # Yearly recurs differently; Hidden is not offered
    preview = alice.get(f"{base}/change-preview", params={"product_id": ids["Pro"]})
    assert preview.status_code == 200, preview.text
    assert 1990 <= preview.json()["proration_amount"] <= 2000 and preview.json()["proration_behavior"] == "prorate"
    assert alice.get(f"{base}/change-preview", params={"product_id": ids["Hidden"]}).status_code == 422
    assert alice.patch(base, json={"product_id": ids["Hidden"]}).status_code == 422
    changed = alice.patch(base, json={"product_id": ids["Pro"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["product_id"] == ids["Pro"]
    upcoming = org.http.get(f"/v1/subscriptions/{sub}/upcoming-invoice").json()
    assert any(line["kind"] == "proration" and 1990 <= line["amount"] <= 2000 for line in upcoming["lines"])

    # Another customer's subscription: 404, unchanged.
    for call in (lambda: alice.get(f"/v1/customer-portal/subscriptions/{setup['bob_sub']}"),
                 lambda: alice.patch(f"/v1/customer-portal/subscriptions/{setup['bob_sub']}",
                                     json={"cancel_at_period_end": True}),
                 lambda: alice.delete(f"/v1/customer-portal/subscriptions/{setup['bob_sub']}")):
        response = call()
        assert response.status_code == 404 and "bob" not in response.text
    assert org.http.get(f"/v1/subscriptions/{setup['bob_sub']}").json()["cancel_at_period_end"] is False

    assert alice.patch(base, json={"cancel_at_period_end": True, "cancellation_reason": "unused"}
                       ).json()["cancel_at_period_end"] is True
    again = alice.delete(base)  # already scheduled: Polar's typed refusal, and no second audit entry
    assert again.status_code == 403 and again.json()["error"] == "AlreadyCanceledSubscription"
    assert alice.patch(base, json={"cancel_at_period_end": False}).json()["cancel_at_period_end"] is False
    assert alice.patch(base, json={"cancellation_reason": "x"}).status_code == 422

    me = alice.patch("/v1/customer-portal/customers/me", json={
        "billing_name": "Alice Ltd", "tax_id": "DE123456789",
        "billing_address": {"line1": "Hauptstr. 1", "city": "Berlin", "country": "de"}})
    assert me.status_code == 200, me.text
    assert me.json()["billing_name"] == "Alice Ltd" and me.json()["billing_address"]["country"] == "DE"
    assert alice.get("/v1/customer-portal/customers/me").json()["tax_id"] == ["DE123456789", None]  # Polar's pair
    managed = org.http.get(f"/v1/customers/{setup['alice']['customer_id']}").json()  # the organization sees them
    assert (managed["billing_name"], managed["tax_id"]) == ("Alice Ltd", ["DE123456789", None])
    bad = alice.patch("/v1/customer-portal/customers/me", json={"billing_address": {"country": "Germany"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "billing_address", "country"]

    log = org.http.get("/v1/audit-log", params={"customer_id": setup["alice"]["customer_id"], "limit": 100})
    assert log.status_code == 200, log.text
    entries = log.json()["items"]
    assert [e["action"] for e in entries] == ["customer.billing_details_updated", "subscription.cancel_undone",
                                              "subscription.cancel_scheduled", "subscription.product_changed"]
    assert entries[3]["changes"]["product_id"] == {"from": ids["Basic"], "to": ids["Pro"]}
    assert entries[2]["changes"]["cancellation_reason"] == "unused"
    assert all(e["actor"] == {"type": "customer", "customer_id": setup["alice"]["customer_id"],
                              "via": "customer_portal"} and e["created_at"] for e in entries)
    assert other_org.http.get("/v1/audit-log").json()["items"] == []


def test_self_service_forms_work_without_javascript_and_only_from_the_portal(org, api_url) -> None:
    setup = self_service_setup(org)
    with httpx.Client(base_url=api_url) as browser:
        browser.get(setup["alice"]["customer_portal_url"].replace(api_url, ""))  # sets the cookie
        page = browser.get("/portal").text
        assert 'action="/portal/subscription/change"' in page and f'value="{setup["ids"]["Pro"]}"' in page
        preview = browser.get("/portal/subscription/change", params={"subscription_id": setup["alice_sub"],
                                                                     "product_id": setup["ids"]["Pro"]})
        assert preview.status_code == 200 and "will be added to your next invoice" in preview.text
        form = {"billing_name": "Alice GmbH", "line1": "", "city": "Berlin", "country": "DE", "tax_id": ""}
        foreign = browser.post("/portal/billing-details", data=form, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        saved = browser.post("/portal/billing-details", data=form, headers={"Origin": api_url})
        assert saved.status_code == 303 and saved.headers["location"].startswith("/portal?done=details")
        assert "Your billing details have been saved." in browser.get(saved.headers["location"]).text
        confirmed = browser.post("/portal/subscription/change", data={"subscription_id": setup["alice_sub"],
                                                                      "product_id": setup["ids"]["Pro"]})
        assert confirmed.status_code == 303
        canceled = browser.post("/portal/subscription/cancel", data={"subscription_id": setup["alice_sub"],
                                                                     "cancel_at_period_end": "true"})
        assert canceled.status_code == 303 and "Keep my subscription" in browser.get("/portal").text
        other = browser.post("/portal/subscription/cancel", data={"subscription_id": setup["bob_sub"],
                                                                  "cancel_at_period_end": "true"})
        assert other.status_code == 404 and "Nothing was changed" in other.text
    alice = org.http.get(f"/v1/customers/{setup['alice']['customer_id']}").json()
    assert alice["billing_address"] == {"city": "Berlin", "country": "DE"}
    sub = org.http.get(f"/v1/subscriptions/{setup['alice_sub']}").json()
    assert sub["product_id"] == setup["ids"]["Pro"] and sub["cancel_at_period_end"] is True
