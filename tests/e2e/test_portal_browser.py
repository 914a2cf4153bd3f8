"""The customer portal in a real browser: Debian's Chromium, driven by Playwright, checked by axe-core.

Screenshots of each page at desktop width and at 360 px go to test-artifacts/ (ignored by git, kept by CI)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from functions.auth.tokens import token_hash
from functions.common.clock import iso, utcnow
from functions.store import customer_sessions
from tests.integration.conftest import create_meter

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 360, "height": 780}
NBSP = "\u00a0"


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def shoot(page: Page, name: str) -> None:
    """The page at desktop width and at 360 px, full length."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("360px", MOBILE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    if size:
        page.set_viewport_size(size)


def assert_accessible(page: Page) -> None:
    """axe-core (npm) in the page: no serious or critical violation of WCAG 2.x A/AA or best practices."""
    assert AXE.exists(), "axe-core missing: run `make install`"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {resultTypes: ['violations'],
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})""")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == []


def portal_customer(org, external_id: str = "ada", name: str = "Ada Lovelace") -> dict:
    """Branding, a token meter with 100 included, 2 cents per token beyond, a 20% VAT, and a subscription."""
    org.http.patch(f"/v1/organizations/{org.id}", json={
        "name": "Acme AI", "branding": {"accent_color": "#6f42c1", "support_email": "billing@acme.example",
                                        "logo_url": "https://cdn.example.com/acme.png"},
        "seller": {"legal_name": "Acme AI Ltd", "tax_id": "GB123456789",
                   "address": {"line1": "1 King St", "city": "London", "country": "GB"}}})
    meter_id = create_meter(org, "API requests", {"func": "count"})
    product = org.http.post("/v1/products/", json={"name": "Growth", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 4900},
        {"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "2", "credited_units": 100}]}).json()
    org.http.post("/v1/tax-rates", json={"name": "VAT", "country": "GB", "basis_points": 2000})
    org.http.post("/v1/customers/", json={"email": f"{external_id}@example.com", "name": name,
                                          "external_id": external_id, "billing_address": {"country": "GB"}})
    org.http.post("/v1/subscriptions/", json={"external_customer_id": external_id, "product_id": product["id"]})
    return {"meter_id": meter_id, "product": product}


def ingest(org, external_id: str, prefix: str, count: int) -> None:
    response = org.http.post("/v1/events/ingest", json={"events": [
        {"name": "req", "external_customer_id": external_id, "external_id": f"{prefix}{i}"} for i in range(count)]})
    assert response.status_code == 200, response.text


def portal_link(org, external_id: str) -> dict:
    response = org.http.post("/v1/customer-sessions/", json={"external_customer_id": external_id,
                                                             "return_url": "https://app.example.com/account"})
    assert response.status_code == 201, response.text
    return response.json()


def test_reading_the_portal_live_accessible_at_desktop_and_360px(org, api_url, browser) -> None:
    meter_id = portal_customer(org)["meter_id"]
    ingest(org, "ada", "p", 40)
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    page.goto(portal_link(org, "ada")["customer_portal_url"])
    assert page.url == f"{api_url}/portal"  # the token left the address bar
    card = page.locator(f'[data-meter-id="{meter_id}"]')
    expect(page.get_by_role("heading", name="Usage and billing")).to_be_visible()
    expect(page.locator("[data-field=org-name]")).to_have_text("Acme AI")
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    expect(card.locator("[data-field=summary]")).to_have_text(
        f"40 units used of the 100 included: 60 units left. Beyond that, billed at 0.02{NBSP}USD per unit.")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    expect(card.locator("svg[data-chart=daily] rect").last).to_be_attached()
    expect(page.get_by_role("link", name="Back to Acme AI")).to_have_attribute(
        "href", "https://app.example.com/account")
    expect(page.locator("footer")).to_contain_text("Billed by Acme AI Ltd")
    assert_accessible(page)

    # Usage arrives while the page is open: the refresh shows it without a reload, in words.
    ingest(org, "ada", "q", 75)
    expect(card.locator("[data-field=consumed]")).to_have_text("115", timeout=15_000)
    expect(card.locator("[data-field=over]")).to_have_text("15")
    expect(card.locator("[data-field=summary]")).to_contain_text("15 units over the 100 included")
    expect(card.locator(".bar")).to_have_class("bar over")

    # The upcoming invoice comes from the server: 15 billable units x 2c + next month's 49.00, plus 20% VAT.
    page.reload()
    expect(page.locator("[data-field=upcoming-total]")).to_have_text(f"59.16{NBSP}USD")
    expect(page.get_by_text("Tax (VAT 20%, added)")).to_be_visible()
    expect(page.get_by_text("115 units used, 100 covered by the 100 included; 15 billable.")).to_be_visible()
    pdf_link = page.get_by_role("link", name="PDF of invoice")
    expect(pdf_link).to_have_count(1)
    pdf = page.context.request.get(api_url + (pdf_link.get_attribute("href") or ""))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    shoot(page, "portal")

    # 360 px: nothing wider than the screen, every section still there, still accessible.
    page.set_viewport_size(MOBILE)
    expect(card).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    assert page.evaluate("""() => Array.from(document.querySelectorAll('.scroll'))
        .filter(e => e.scrollWidth > e.clientWidth).length""") == 0  # the tables fit: no sideways scrolling
    expect(page.locator("[data-field=upcoming-total]")).to_be_visible()
    assert_accessible(page)
    context.close()


def test_portal_reads_without_javascript_in_the_customers_locale(org, api_url, browser) -> None:
    meter_id = portal_customer(org)["meter_id"]
    ingest(org, "ada", "p", 1000)
    ingest(org, "ada", "r", 234)
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP, locale="de-DE")
    page = context.new_page()
    page.goto(portal_link(org, "ada")["customer_portal_url"])
    card = page.locator(f'[data-meter-id="{meter_id}"]')
    expect(card.locator("[data-field=consumed]")).to_have_text("1.234")
    expect(card.locator("[data-field=over]")).to_have_text("1.134")
    expect(page.locator("[data-field=upcoming-total]")).to_contain_text("USD")
    expect(card.locator("svg[data-chart=daily]")).to_be_visible()  # the chart is server-rendered SVG
    shoot(page, "portal-no-javascript")
    context.close()


def test_keyboard_reaches_every_control_with_a_visible_focus(org, api_url, browser) -> None:
    portal_customer(org)
    ingest(org, "ada", "p", 5)
    page = browser.new_page(viewport=DESKTOP)
    page.goto(portal_link(org, "ada")["customer_portal_url"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    reached: list = []
    while len(reached) < 60 and (not reached or reached[-1][0] != "BODY"):  # to the end of the page
        page.keyboard.press("Tab")
        reached.append(page.evaluate("""() => { const e = document.activeElement;
            const style = getComputedStyle(e);
            return [e.tagName, (e.getAttribute('aria-label') || e.textContent).trim().slice(0, 40),
                    style.outlineStyle !== 'none' || style.boxShadow !== 'none']; }"""))
    names = [name for _, name, _ in reached]
    assert any(name.startswith("Daily numbers") for name in names)
    assert any(name.startswith("PDF of invoice") for name in names)
    assert any("billing@acme.example" in name for name in names)
    assert [r for r in reached if not r[2] and r[0] != "BODY"] == []  # BODY: past the last control
    # A disclosure opens from the keyboard.
    page.get_by_text("Daily numbers for API requests").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("table").first).to_be_visible()


def test_an_expired_session_shows_nothing(org, api_url, browser) -> None:
    portal_customer(org)
    ingest(org, "ada", "p", 5)
    created = portal_link(org, "ada")
    page = browser.new_page(viewport=DESKTOP)
    page.goto(created["customer_portal_url"])
    expect(page.locator("[data-meter-id]")).to_have_count(1)
    stored = customer_sessions.find(token_hash(created["token"]))
    assert stored is not None
    expired = dataclasses.replace(stored, expires=iso(utcnow() - timedelta(seconds=1)))
    customer_sessions.put(token_hash(created["token"]), expired, 0)

    response = page.reload()
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    assert page.locator("[data-meter-id]").count() == 0 and "Ada" not in page.content()
    assert page.context.request.get(f"{api_url}/portal/fragments/meters").status == 401
    assert page.context.request.get(f"{api_url}/v1/customer-portal/meters/").status == 401
    assert_accessible(page)
    shoot(page, "portal-signed-out")

    response = page.goto(created["customer_portal_url"])  # the old link itself
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", name="Link expired")).to_be_visible()
    shoot(page, "portal-link-expired")
    response = page.goto(f"{api_url}/portal?customer_session_token=mb_cst_forged")
    assert response is not None and response.status == 401


def test_another_customers_ids_get_404_and_leak_nothing(org, other_org, api_url, browser) -> None:
    portal_customer(org)
    org.http.post("/v1/customers/", json={"email": "bob@example.com", "name": "Bob Secret", "external_id": "bob",
                                          "billing_address": {"country": "GB"}})
    product_id = org.http.get("/v1/products/").json()["items"][0]["id"]
    org.http.post("/v1/subscriptions/", json={"external_customer_id": "bob", "product_id": product_id})
    ingest(org, "bob", "b", 9)
    bob = portal_link(org, "bob")
    bob_invoice = httpx.get(f"{api_url}/v1/customer-portal/invoices/",
                            headers={"Authorization": f"Bearer {bob['token']}"}).json()["items"][0]

    page = browser.new_page(viewport=DESKTOP)
    page.goto(portal_link(org, "ada")["customer_portal_url"])
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    assert "Bob Secret" not in page.content() and bob_invoice["id"] not in page.content()
    for path in (f"/portal/invoices/{bob_invoice['id']}/pdf", "/portal/invoices/not-an-id/pdf"):
        response = page.context.request.get(api_url + path)
        assert response.status == 404 and b"Bob" not in response.body() and b"%PDF" not in response.body()
    # The JSON API ignores ids a caller adds: it always answers for the session's customer.
    for path in (f"/v1/customer-portal/meters/?customer_id={bob_invoice['customer_id']}",
                 f"/v1/customer-portal/invoices/?customer_id={bob_invoice['customer_id']}"):
        body = page.context.request.get(api_url + path).json()
        assert bob_invoice["customer_id"] not in str(body)
    # Another organization's session cannot reach this organization's invoice either.
    other_org.http.post("/v1/customers/", json={"email": "eve@example.com", "external_id": "eve"})
    eve = portal_link(other_org, "eve")
    response = httpx.get(f"{api_url}/portal/invoices/{bob_invoice['id']}/pdf",
                         headers={"Authorization": f"Bearer {eve['token']}"})
    assert response.status_code == 404


def test_self_service_change_plan_cancel_undo_and_billing_details(org, api_url, browser) -> None:
    portal_customer(org)
    growth_meter = org.http.get("/v1/meters/").json()["items"][0]["id"]
    scale = org.http.post("/v1/products/", json={"name": "Scale", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 9900},
        {"amount_type": "metered_unit", "meter_id": growth_meter, "unit_amount": "1", "credited_units": 1000}]}
                          ).json()
    assert org.http.patch(f"/v1/organizations/{org.id}", json={"portal_products": [scale["id"]]}).status_code == 200
    ingest(org, "ada", "p", 3)
    created = portal_link(org, "ada")
    page = browser.new_page(viewport=DESKTOP)
    page.goto(created["customer_portal_url"])

    # Change plan: preview first, then confirm.
    page.get_by_label("Switch to another plan").select_option(label="Scale")
    page.get_by_role("button", name="Preview the change").click()
    expect(page.get_by_role("heading", name="Change plan")).to_be_visible()
    expect(page.locator("[data-field=new-product]")).to_have_text("Scale")
    expect(page.locator("[data-field=proration]")).to_contain_text("will be added to your next invoice")
    assert_accessible(page)
    shoot(page, "portal-change-preview")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_role("status")).to_have_text("Your plan has been changed.")
    expect(page.locator("#upcoming-title + p strong")).to_have_text("Scale")
    expect(page.get_by_text("Growth -> Scale for the rest of the period")).to_be_visible()

    # Cancel at the period end, then undo.
    page.get_by_label("Reason (optional)").select_option("unused")
    page.get_by_role("button", name="Cancel at the end of the period").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription will end at the end of this period.")
    expect(page.locator("[data-field=cancel-state]")).to_contain_text("will not renew")
    shoot(page, "portal-canceled")
    page.get_by_role("button", name="Keep my subscription").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription will renew as usual.")

    # Billing details, from the keyboard.
    page.get_by_label("Billing name").fill("Lovelace Analytical Engines Ltd")
    page.get_by_label("Tax ID").fill("GB999999973")
    page.get_by_label("City").fill("London")
    page.get_by_label("Country (two letters)").fill("gb")
    page.get_by_label("Country (two letters)").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your billing details have been saved.")
    expect(page.get_by_label("Billing name")).to_have_value("Lovelace Analytical Engines Ltd")
    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    assert_accessible(page)
    shoot(page, "portal-details-saved")

    entries = org.http.get("/v1/audit-log", params={"limit": 100}).json()["items"]
    assert [e["action"] for e in entries] == ["customer.billing_details_updated", "subscription.cancel_undone",
                                              "subscription.cancel_scheduled", "subscription.product_changed"]
    assert {e["customer_id"] for e in entries} == {created["customer_id"]}
