"""Demo data for `meterbill dev --demo`, loaded through the public API like any client would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def load_demo(api_url: str, token: str) -> dict[str, Any]:
    http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    existing = http.get("/v1/customers/external/demo-customer")
    if existing.status_code == 200:
        return {"demo_customer_id": existing.json()["id"], "portal_url": portal_link(http)}
    customer = http.post("/v1/customers/", json={
        "email": "demo@example.com", "name": "Demo Customer", "external_id": "demo-customer",
        "billing_address": {"country": "DE", "city": "Berlin"},
    }).raise_for_status().json()
    meters = [
        {"name": "API requests", "filter": {"conjunction": "and", "clauses": [
            {"property": "name", "operator": "eq", "value": "api_request"}]}, "aggregation": {"func": "count"}},
        {"name": "LLM tokens", "unit": "token", "filter": {"conjunction": "and", "clauses": [
            {"property": "name", "operator": "eq", "value": "llm_call"}]},
         "aggregation": {"func": "sum", "property": "total_tokens"}},
        {"name": "Active projects", "filter": {"conjunction": "and", "clauses": []},
         "aggregation": {"func": "unique", "property": "project"}},
    ]
    meter_ids = [http.post("/v1/meters/", json=meter).raise_for_status().json()["id"] for meter in meters]
    product = http.post("/v1/products/", json={
        "name": "Demo Pro", "recurring_interval": "month",
        "prices": [
            {"amount_type": "fixed", "price_amount": 2900},
            {"amount_type": "metered_unit", "meter_id": meter_ids[0], "unit_amount": "0.5", "credited_units": 100},
            {"amount_type": "metered_tiers", "meter_id": meter_ids[1], "credited_units": 10_000, "tiers": {
                "type": "graduated", "tiers": [{"bound": 100_000, "unit_amount": "0.002"},
                                               {"unit_amount": "0.001"}]}},
        ],
    }).raise_for_status().json()
    http.post("/v1/tax-rates/", json={"name": "German VAT", "country": "DE", "basis_points": 1900})
    http.post("/v1/subscriptions/", json={"external_customer_id": "demo-customer",
                                          "product_id": product["id"]}).raise_for_status()
    events = [{"name": "api_request", "external_customer_id": "demo-customer", "external_id": str(uuid.uuid4()),
               "metadata": {"project": f"p{i % 3}", "path": "/search"}} for i in range(120)]
    events += [{"name": "llm_call", "external_customer_id": "demo-customer", "external_id": str(uuid.uuid4()),
                "metadata": {"project": "p1", "total_tokens": 350 + i, "model": "gpt-5"}} for i in range(40)]
    http.post("/v1/events/ingest", json={"events": events}).raise_for_status()
    return {"demo_customer_id": customer["id"], "portal_url": portal_link(http)}


def portal_link(http: httpx.Client) -> str:
    """A fresh customer-session link (sessions last an hour)."""
    session = http.post("/v1/customer-sessions/", json={"external_customer_id": "demo-customer"})
    return session.raise_for_status().json()["customer_portal_url"]  # type: ignore[no-any-return]
