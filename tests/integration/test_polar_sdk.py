"""The real `polar-sdk` client (polar.v2026_10), changed only in its server URL, works against Meterbill."""

from __future__ import annotations

import uuid

from polar.v2026_10.client import Polar


def test_polar_sdk_ingests_creates_a_meter_and_reads_customer_meters(org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        customer = polar.customers.create(email="sdk@example.com", external_id="sdk-user", name="SDK")
        meter = polar.meters.create(
            name="LLM tokens",
            filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "llm"}]},
            aggregation={"func": "sum", "property": "tokens"},
        )
        response = polar.events.ingest(events=[
            {"name": "llm", "external_customer_id": "sdk-user", "external_id": str(uuid.uuid4()),
             "metadata": {"tokens": n}}
            for n in (120, 80, 300)
        ] + [{"name": "llm", "customer_id": customer.id, "metadata": {"tokens": 1}}])
        assert response.inserted == 4 and response.duplicates == 0

        meters = polar.customer_meters.list(customer_id=customer.id)
        assert meters.pagination.total_count == 1
        customer_meter = meters.items[0]
        assert customer_meter.meter.id == meter.id and customer_meter.consumed_units == 501
        assert customer_meter.balance == -501 and customer_meter.credited_units == 0
        assert polar.customer_meters.get(customer_meter.id).consumed_units == 501

        state = polar.customers.get_state_external("sdk-user")
        assert [m.consumed_units for m in state.active_meters] == [501]
        assert polar.meters.get(meter.id).name == "LLM tokens"
        listed = polar.events.list(customer_id=customer.id, limit=10)
        assert len(listed.items) == 4
        assert polar.events.get(listed.items[0].id).id == listed.items[0].id
