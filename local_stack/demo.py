"""Demo data for `meterbill dev --demo`, loaded through the public API like any client would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def load_demo(api_url: str, token: str) -> dict[str, Any]:
    http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    existing = http.get("/v1/customers/external/demo-customer")
    if existing.status_code == 200:
        return {"demo_customer_id": existing.json()["id"]}
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
    for meter in meters:
        http.post("/v1/meters/", json=meter).raise_for_status()
    events = [{"name": "api_request", "external_customer_id": "demo-customer", "external_id": str(uuid.uuid4()),
               "metadata": {"project": f"p{i % 3}", "path": "/search"}} for i in range(120)]
    events += [{"name": "llm_call", "external_customer_id": "demo-customer", "external_id": str(uuid.uuid4()),
                "metadata": {"project": "p1", "total_tokens": 350 + i, "model": "gpt-5"}} for i in range(40)]
    http.post("/v1/events/ingest", json={"events": events}).raise_for_status()
    return {"demo_customer_id": customer["id"]}
