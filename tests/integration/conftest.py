from __future__ import annotations

import pytest

from tests.conftest import Org


def create_meter(org: Org, name: str, aggregation: dict, clauses: list | None = None) -> str:
    response = org.http.post(
        "/v1/meters/",
        json={"name": name, "filter": {"conjunction": "and", "clauses": clauses or []}, "aggregation": aggregation},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def api_calls_meters(org: Org) -> dict[str, str]:
    """One meter per aggregation over `api_call` events' `ms` property."""
    clauses = [{"property": "name", "operator": "eq", "value": "api_call"}]
    return {
        func: create_meter(org, f"api {func}", {"func": func} if func == "count" else {"func": func, "property": "ms"},
                           clauses)
        for func in ("count", "sum", "avg", "min", "max", "unique", "last")
    }


def audit_is_clean(org_id: str, tmp_path) -> None:
    from local_stack.cli import main

    assert main(["--state-dir", str(tmp_path), "audit", "--org", org_id]) == 0


@pytest.fixture
def plan(org: Org) -> dict:
    """A monthly plan: 20.00 fixed in advance, and a graduated metered price on a sum meter (100 units credited)."""
    meter_id = create_meter(org, "calls", {"func": "sum", "property": "n"},
                            [{"property": "name", "operator": "eq", "value": "api_call"}])
    product = org.http.post("/v1/products/", json={
        "name": "Pro", "recurring_interval": "month",
        "prices": [
            {"amount_type": "fixed", "price_amount": 2000},
            {"amount_type": "metered_tiers", "meter_id": meter_id, "credited_units": 100,
             "tiers": {"type": "graduated", "tiers": [{"bound": 1000, "unit_amount": "2"},
                                                      {"unit_amount": "1"}]}},
        ],
    })
    assert product.status_code == 201, product.text
    return {"meter_id": meter_id, "product": product.json()}
