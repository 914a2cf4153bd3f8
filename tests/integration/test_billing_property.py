"""Hypothesis end to end: random events and prices through ingest and the real cycle close; the invoice
equals the Fraction oracle computed from the raw events, to the cent."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.common.clock import parse_iso
from tests.billing_oracle import invoice_total
from tests.conftest import Org
from tests.integration.test_billing import close_cycles, invoices
from tests.unit.billing.test_invoice_oracle import discounts, prices, taxes


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=prices, credited=st.integers(0, 50), fixed=st.integers(0, 5000), discount=discounts, tax=taxes,
       values=st.lists(st.one_of(st.integers(0, 40), st.text(max_size=2), st.booleans()), max_size=30))
def test_invoice_from_raw_events_matches_oracle(api_url, price, credited, fixed, discount, tax, values) -> None:
    org = Org(api_url)
    meter = org.http.post("/v1/meters/", json={"name": "n", "filter": {"conjunction": "and", "clauses": []},
                                               "aggregation": {"func": "sum", "property": "n"}}).json()
    product = org.http.post("/v1/products/", json={"name": "P", "recurring_interval": "month", "prices": [
        {"amount_type": "fixed", "price_amount": fixed},
        {**price, "meter_id": meter["id"], "credited_units": credited},
    ]})
    assert product.status_code == 201, product.text
    for rate in tax:  # stacked: every FR rate applies to a customer in FR
        org.http.post("/v1/tax-rates/", json={"name": "t", "country": "FR", **rate})
    discount_id = None
    if discount:
        body = {"name": "d", "duration": "forever", **discount}
        discount_id = org.http.post("/v1/discounts/", json=body).json()["id"]
    org.http.post("/v1/customers/", json={"email": "c@example.com", "external_id": "c",
                                          "billing_address": {"country": "FR"}})
    sub = org.http.post("/v1/subscriptions/", json={"external_customer_id": "c", "product_id": product.json()["id"],
                                                    "discount_id": discount_id}).json()
    events = [{"name": "use", "external_customer_id": "c", "external_id": str(uuid.uuid4()), "metadata": {"n": v}}
              for v in values]
    if events:
        assert org.http.post("/v1/events/ingest", json={"events": events}).status_code == 200
    close_cycles(parse_iso(sub["current_period_end"]) + timedelta(hours=2))
    cycle = [i for i in invoices(org, sub["id"]) if i["billing_reason"] == "subscription_cycle"][0]
    used = sum(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    want = invoice_total([(price, used, credited)], fixed, discount, tax)
    assert {k: cycle[k] for k in want} == want
