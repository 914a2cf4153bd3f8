"""The customer portal in a real browser: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.integration.conftest import create_meter

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def test_portal_shows_live_meters_and_invoices(org, api_url, browser) -> None:
    meter_id = create_meter(org, "API requests", {"func": "count"})
    product = org.http.post("/v1/products/", json={"name": "Growth", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": 4900},
        {"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "2", "credited_units": 100}]}).json()
    org.http.post("/v1/customers/", json={"email": "ada@example.com", "name": "Ada Lovelace", "external_id": "ada"})
    org.http.post("/v1/subscriptions/", json={"external_customer_id": "ada", "product_id": product["id"]})
    org.http.post("/v1/events/ingest", json={"events": [
        {"name": "req", "external_customer_id": "ada", "external_id": f"p{i}"} for i in range(40)]})
    link = org.http.post("/v1/customer-sessions/", json={"external_customer_id": "ada"}).json()["customer_portal_url"]

    page = browser.new_page()
    page.goto(link)
    assert page.url == f"{api_url}/portal"  # the token left the address bar
    card = page.locator(f'[data-meter-id="{meter_id}"]')
    expect(page.get_by_role("heading", name="Usage and billing")).to_be_visible()
    expect(card.locator("[data-field=consumed]")).to_have_text("40")
    expect(card.locator("[data-field=credited]")).to_have_text("100")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()

    # Usage arrives while the page is open: the refresh script shows it without a reload.
    org.http.post("/v1/events/ingest", json={"events": [
        {"name": "req", "external_customer_id": "ada", "external_id": f"q{i}"} for i in range(75)]})
    expect(card.locator("[data-field=consumed]")).to_have_text("115", timeout=10_000)
    expect(card.locator("[data-field=balance]")).to_have_text("-15")
    expect(card.locator(".bar")).to_have_class("bar over")

    # The upcoming invoice is rendered by the server: at load 40 units were within the credits; after a
    # reload, 15 billable units x 2c + the next month's 49.00 fee.
    expect(page.locator("[data-field=upcoming-total]")).to_have_text("49.00 USD")
    page.reload()
    expect(page.locator("[data-field=upcoming-total]")).to_have_text("49.30 USD")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "portal.png"), full_page=True)

    pdf_link = page.get_by_role("link", name="PDF")
    expect(pdf_link).to_have_count(1)
    pdf = page.context.request.get(api_url + pdf_link.get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # Narrow screens keep the page usable.
    page.set_viewport_size({"width": 375, "height": 800})
    expect(card).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "portal-mobile.png"), full_page=True)


def test_portal_without_a_valid_session_shows_no_data(org, api_url, browser) -> None:
    page = browser.new_page()
    response = page.goto(f"{api_url}/portal?customer_session_token=mb_cst_forged")
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", name="Link expired")).to_be_visible()
    response = page.goto(f"{api_url}/portal")
    assert response is not None and response.status == 401
    assert page.locator("[data-meter-id]").count() == 0
