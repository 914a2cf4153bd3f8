"""The real `polar-sdk` client (polar.v2026_10), changed only in its server URL, works against Meterbill."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from polar.v2026_10.client import Polar
from polar.v2026_10.errors import HTTPValidationError, ResourceNotFound


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


def test_polar_sdk_event_names_and_customers_export(org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        polar.customers.create(email="names@example.com", external_id="names-user", name="Names, Inc.",
                               metadata={"plan": "pro"})
        stamps = ["2026-11-20T10:00:00Z", "2026-11-21T10:00:00Z", "2026-11-22T10:00:00Z"]
        polar.events.ingest(events=[
            {"name": "api.call", "external_customer_id": "names-user", "timestamp": stamps[0]},
            {"name": "api.call", "external_customer_id": "names-user", "timestamp": stamps[2]},
            {"name": "upload", "external_customer_id": "names-user", "timestamp": stamps[1]},
        ])
        names = polar.events.list_names(external_customer_id="names-user")  # default sorting: -last_seen
        assert [(n.name, n.occurrences, n.source) for n in names.items] == [("api.call", 2, "user"),
                                                                            ("upload", 1, "user")]
        assert names.items[0].first_seen.startswith("2026-11-20") and names.items[0].last_seen.startswith("2026-11-22")
        assert [n.name for n in polar.events.list_names(sorting=["-occurrences", "name"],
                                                        external_customer_id="names-user").items] == ["api.call",
                                                                                                      "upload"]
        assert [n.name for n in polar.events.list_names(query="upl").items] == ["upload"]
        assert polar.events.list_names(source="system").items == []

        exported = polar.customers.export()
        rows = list(csv.DictReader(io.StringIO(exported)))
        row = next(r for r in rows if r["external_id"] == "names-user")
        assert row["email"] == "names@example.com" and row["name"] == "Names, Inc."
        assert json.loads(row["metadata"]) == {"plan": "pro"}


def test_polar_sdk_customer_session_for_an_unknown_customer_is_a_422(org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        with pytest.raises(HTTPValidationError) as raised:
            polar.customer_sessions.create(external_customer_id="nobody-here")
        assert raised.value.status_code == 422
        assert [list(d.loc) for d in raised.value.error.detail] == [["body", "external_customer_id"]]
        with pytest.raises(HTTPValidationError) as raised:
            polar.customer_sessions.create(customer_id="00000000-0000-0000-0000-000000000000")
        assert [list(d.loc) for d in raised.value.error.detail] == [["body", "customer_id"]]


def test_polar_sdk_list_sorting_and_metadata_filters(org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        made = {}
        for name, plan in (("Carol", "pro"), ("alice", "free"), ("Bob", "pro")):
            made[name] = polar.customers.create(email=f"{name.lower()}@sort.example", external_id=f"sort-{name}",
                                                name=name, metadata={"plan": plan, "seats": 3})
        by_name = polar.customers.list(sorting=["name"], query="sort.example")
        assert [c.name for c in by_name.items] == ["alice", "Bob", "Carol"]
        assert [c.name for c in polar.customers.list(sorting=["-name"], query="sort.example").items] == [
            "Carol", "Bob", "alice"]
        assert [c.name for c in polar.customers.list(sorting=["created_at"], query="sort.example").items] == [
            "Carol", "alice", "Bob"]
        assert [c.name for c in polar.customers.list().items][:3] == ["Bob", "alice", "Carol"]  # -created_at
        pro = polar.customers.list(metadata={"plan": "pro"}, sorting=["name"])
        assert [c.name for c in pro.items] == ["Bob", "Carol"]
        assert [c.name for c in polar.customers.list(metadata={"plan": ["pro", "free"], "seats": "3"},
                                                     sorting=["name"]).items] == ["alice", "Bob", "Carol"]
        assert polar.customers.list(metadata={"plan": "team"}).items == []

        meters = {}
        for name, team in (("b-meter", "x"), ("a-meter", "y"), ("c-meter", "x")):
            meters[name] = polar.meters.create(
                name=name, metadata={"team": team},
                filter={"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": name}]},
                aggregation={"func": "count"})
        assert [m.name for m in polar.meters.list().items] == ["a-meter", "b-meter", "c-meter"]  # name
        assert [m.name for m in polar.meters.list(sorting=["-name"]).items] == ["c-meter", "b-meter", "a-meter"]
        assert [m.name for m in polar.meters.list(sorting=["-created_at"]).items] == ["c-meter", "a-meter",
                                                                                      "b-meter"]
        assert [m.name for m in polar.meters.list(metadata={"team": "x"}).items] == ["b-meter", "c-meter"]

        polar.events.ingest(events=[{"name": "a-meter", "external_customer_id": "sort-Carol"},
                                    {"name": "a-meter", "external_customer_id": "sort-Carol"},
                                    {"name": "b-meter", "external_customer_id": "sort-alice"}])
        listed = polar.customer_meters.list(sorting=["-consumed_units"])
        assert [(cm.customer.name, cm.meter.name, cm.consumed_units) for cm in listed.items] == [
            ("Carol", "a-meter", 2), ("alice", "b-meter", 1)]
        assert [cm.meter.name for cm in polar.customer_meters.list(sorting=["meter_name"]).items] == [
            "a-meter", "b-meter"]


def test_unsupported_sorting_is_a_422_naming_it(org) -> None:
    for path in ("/v1/meters/", "/v1/customers/", "/v1/customer-meters/", "/v1/events/names"):
        response = org.http.get(path, params={"sorting": "colour"})
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"] == ["query", "sorting"], path


def test_groups_meterbill_does_not_serve_answer_one_typed_501(org, api_url) -> None:
    from polar.base import PolarServerError

    with Polar(org.token, base_url=api_url) as polar, pytest.raises(PolarServerError) as raised:
        polar.checkouts.list()
    assert raised.value.status_code == 501
    # The management Lambda and the portal Lambda give the same answer; a path in no group is still a 404.
    for path, group in (("/v1/payments/", "payments"), ("/v1/customer-portal/wallets/", "customer_portal.wallets")):
        response = org.http.get(path)
        assert response.status_code == 501, (path, response.text)
        assert response.json() == {"error": "NotServed", "detail": f"Meterbill does not serve Polar's {group} API"}
    assert org.http.get("/v1/no-such-group/").status_code == 404


def test_events_list_filters_on_metadata_and_a_meter_filter_through_polar_sdk(org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        customer = polar.customers.create(email="filters@example.com", external_id="filters")
        polar.events.ingest(events=[
            {"name": "call", "customer_id": customer.id, "metadata": {"plan": plan, "tokens": tokens}}
            for plan, tokens in (("pro", 5), ("free", 50), ("pro", 500), ("team", 7))
        ])
        by_plan = polar.events.list(customer_id=customer.id, metadata={"plan": ["pro", "team"]}, limit=100)
        assert sorted(e.metadata["tokens"] for e in by_plan.items) == [5, 7, 500]
        at_least_50 = json.dumps({"conjunction": "and",
                                  "clauses": [{"property": "tokens", "operator": "gte", "value": 50}]})
        big = polar.events.list(customer_id=customer.id, limit=100, filter=at_least_50)  # a JSON string, as Polar's
        assert sorted(e.metadata["tokens"] for e in big.items) == [50, 500]
        both = polar.events.list(customer_id=customer.id, metadata={"plan": "pro"}, limit=100, filter=at_least_50)
        assert [e.metadata["tokens"] for e in both.items] == [500]


def test_a_query_parameter_meterbill_does_not_implement_is_a_422_naming_it(org, other_org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        with pytest.raises(HTTPValidationError) as raised:
            polar.events.list(query="call")
        assert [(list(e.loc), e.type) for e in raised.value.error.detail] == [(["query", "query"], "extra_forbidden")]
        with pytest.raises(HTTPValidationError) as raised:
            polar.customers.list(active=True, email="a@example.com")
        assert [list(e.loc) for e in raised.value.error.detail] == [["query", "active"]]
        # Polar's organization_id is understood: the token's own organization reads as usual, another is refused.
        assert polar.meters.list(organization_id=org.id).pagination.total_count == 0
        with pytest.raises(HTTPValidationError) as raised:
            polar.meters.list(organization_id=other_org.id)
        assert [list(e.loc) for e in raised.value.error.detail] == [["query", "organization_id"]]
    # The export takes Polar's organization_id through the same rule.
    assert org.http.get("/v1/customers/export", params={"organization_id": org.id}).status_code == 200
    other = org.http.get("/v1/customers/export", params={"organization_id": other_org.id})
    assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["query", "organization_id"]
    # Declared parameters, the metadata filter where a route has one, and nothing at all still read as before.
    assert org.http.get("/v1/customers", params={"metadata[plan]": "pro", "limit": 5}).status_code == 200
    refused = org.http.get("/v1/customer-meters", params={"metadata[plan]": "pro"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "metadata[plan]"]
    bad_filter = org.http.get("/v1/events", params={"filter": '{"conjunction": "xor"}'})
    assert bad_filter.status_code == 422 and bad_filter.json()["detail"][0]["loc"][:2] == ["query", "filter"]


def test_body_fields_are_implemented_or_refused_by_name_never_dropped(org, other_org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        customer = polar.customers.create(email="tax@example.com", external_id="tax-1", tax_id="DE123456789",
                                          type="individual", organization_id=org.id)
        assert list(customer.tax_id or []) == ["DE123456789", None]
        updated = polar.customers.update_external("tax-1", tax_id="FR40303265045")
        assert list(updated.tax_id or []) == ["FR40303265045", None]
        assert list(polar.customers.get(customer.id).tax_id or []) == ["FR40303265045", None]
        for call, field in ((lambda: polar.customers.create(email="x@example.com", locale="de"), "locale"),
                            (lambda: polar.customers.create(email="y@example.com", organization_id=other_org.id),
                             "organization_id"),
                            (lambda: polar.customer_sessions.create(customer_id=customer.id, member_id="m"),
                             "member_id")):
            with pytest.raises(HTTPValidationError) as raised:
                call()
            assert [list(e.loc) for e in raised.value.error.detail] == [["body", field]]
        meter = polar.meters.create(name="calls", aggregation={"func": "count"},
                                    filter={"conjunction": "and", "clauses": []})
        with pytest.raises(HTTPValidationError) as raised:
            polar.meters.update(meter.id, name="renamed", filter={
                "conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "other"}]})
        assert [list(e.loc) for e in raised.value.error.detail] == [["body", "filter"]]
        assert polar.meters.get(meter.id).name == "calls"  # nothing of a refused request is written
    names = [c["email"] for c in org.http.get("/v1/customers", params={"limit": 100}).json()["items"]]
    assert names == ["tax@example.com"]


def test_event_types_list_with_statistics_and_take_a_label_through_polar_sdk(org, other_org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        polar.events.ingest(events=[{"name": name, "external_customer_id": who}
                                    for name, who in (("api.call", "a"), ("api.call", "b"), ("upload", "a"))])
        listed = polar.event_types.list()
        by_name = {t.name: t for t in listed.items}
        assert {n: (t.occurrences, t.label, t.source) for n, t in by_name.items()} == {
            "api.call": (2, "api.call", "user"), "upload": (1, "upload", "user")}
        call = by_name["api.call"]
        assert polar.event_types.list(external_customer_id="b").pagination.total_count == 1
        renamed = polar.event_types.update(call.id, label="API call", label_property_selector="metadata.route")
        assert (renamed.id, renamed.name, renamed.label, renamed.label_property_selector) == (
            call.id, "api.call", "API call", "metadata.route")
        again = {t.name: t for t in polar.event_types.list(query="api call").items}
        assert list(again) == ["api.call"] and again["api.call"].id == call.id and again["api.call"].label == "API call"
        assert [t.name for t in polar.event_types.list(sorting=["label"]).items] == ["api.call", "upload"]
    # Another organization's event type is nobody's here, and an id no event name has is a 404.
    assert other_org.http.patch(f"/v1/event-types/{call.id}", json={"label": "x"}).status_code == 404
    assert org.http.patch("/v1/event-types/00000000-0000-0000-0000-000000000000",
                          json={"label": "x"}).status_code == 404


def test_what_polar_sdk_sends_by_default_is_understood(org, api_url) -> None:
    """polar-sdk sends some parameters whether or not the caller set them: `timezone=UTC` with quantities,
    `anonymize=false` with a delete, `sorting` with every list. Each is understood, and another value of one
    Meterbill does not implement is a 422 naming it."""
    from datetime import UTC, datetime, timedelta

    with Polar(org.token, base_url=api_url) as polar:
        meter = polar.meters.create(name="calls", aggregation={"func": "count"},
                                    filter={"conjunction": "and", "clauses": []})
        polar.events.ingest(events=[{"name": "call", "external_customer_id": "tz"} for _ in range(3)])
        now = datetime.now(UTC)
        window = {"start_timestamp": now - timedelta(days=1), "end_timestamp": now + timedelta(minutes=1)}
        assert polar.meters.quantities(meter.id, interval="day", **window).total == 3
        with pytest.raises(HTTPValidationError) as raised:
            polar.meters.quantities(meter.id, interval="day", timezone="Europe/Paris", **window)
        assert [list(e.loc) for e in raised.value.error.detail] == [["query", "timezone"]]
        customer = polar.customers.get_external("tz")
        with pytest.raises(HTTPValidationError) as raised:
            polar.customers.delete(customer.id, anonymize=True)
        assert [list(e.loc) for e in raised.value.error.detail] == [["query", "anonymize"]]
        polar.customers.delete(customer.id)
        assert polar.customers.list().pagination.total_count == 0
    for name in ("b-plan", "a-plan", "c-plan"):
        assert org.http.post("/v1/products/", json={"name": name, "recurring_interval": "month", "prices": [
            {"amount_type": "fixed", "price_amount": 100, "price_currency": "usd"}]}).status_code == 201
    oldest_first = [p["name"] for p in org.http.get("/v1/products/").json()["items"]]
    assert oldest_first == ["b-plan", "a-plan", "c-plan"]
    by_name = org.http.get("/v1/products/", params={"sorting": "-name"}).json()["items"]
    assert [p["name"] for p in by_name] == ["c-plan", "b-plan", "a-plan"]
    newest_first = org.http.get("/v1/products/", params={"sorting": "-created_at"}).json()["items"]
    assert [p["name"] for p in newest_first] == ["c-plan", "a-plan", "b-plan"]
    refused = org.http.get("/v1/products/", params={"sorting": "price_amount"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "sorting"]
    assert org.http.get("/v1/discounts/", params={"sorting": "-created_at"}).status_code == 200
    assert org.http.get("/v1/subscriptions/", params={"sorting": "-started_at"}).status_code == 200


def test_organizations_get_parses_in_polar_sdk_and_says_what_meterbill_does(org, api_url) -> None:
    assert org.http.patch(f"/v1/organizations/{org.id}", json={
        "name": "Acme Cloud, Inc.", "branding": {"support_email": "help@acme.example"},
        "seller": {"address": {"country": "DE"}}}).status_code == 200
    with Polar(org.token, base_url=api_url) as polar:
        got = polar.organizations.get(org.id)
    assert (got.id, got.name, got.slug, got.email, got.country) == (
        org.id, "Acme Cloud, Inc.", "acme-cloud-inc", "help@acme.example", "DE")
    assert got.subscription_settings.allow_multiple_subscriptions is False
    emails = got.customer_email_settings  # Meterbill sends no email
    assert (emails.order_confirmation, emails.subscription_cycled, emails.subscription_cancellation) == (
        False, False, False)
    assert (got.capabilities.checkout_payments, got.capabilities.api_access) == (False, True)


def test_products_subscriptions_and_discounts_parse_in_polar_sdk_with_meterbills_values(org, api_url) -> None:
    with Polar(org.token, base_url=api_url) as polar:
        meter = polar.meters.create(name="Calls", filter={"conjunction": "and", "clauses": []},
                                    aggregation={"func": "count"})
        product = polar.products.create(name="Team", recurring_interval="month", prices=[
            {"amount_type": "fixed", "price_amount": 4900},
            {"amount_type": "metered_unit", "meter_id": meter.id, "unit_amount": "0.5"}])
        fixed, metered = product.prices
        assert (fixed.amount_type, fixed.price_amount, fixed.product_id) == ("fixed", 4900, product.id)
        assert (metered.amount_type, metered.unit_amount, metered.meter.name) == ("metered_unit", "0.5", "Calls")
        assert [p.id for p in polar.products.list().items] == [product.id]
        assert polar.products.update(product.id, name="Team+").name == "Team+"

        ten = polar.discounts.create(name="Ten", type="percentage", basis_points=1000, duration="once")
        five = polar.discounts.create(name="Five", type="fixed", amount=500, currency="usd", duration="repeating",
                                      duration_in_months=3)
        assert (ten.basis_points, five.amount, five.amounts, five.duration) == (1000, 500, {"usd": 500}, "repeating")
        assert {d.id for d in polar.discounts.list().items} == {ten.id, five.id}

        polar.customers.create(email="team@example.com", external_id="team")
        created = org.http.post("/v1/subscriptions/", json={"external_customer_id": "team", "product_id": product.id,
                                                            "discount_id": five.id})
        assert created.status_code == 201, created.text
        subscription = polar.subscriptions.get(created.json()["id"])
        assert (subscription.amount, subscription.currency, subscription.recurring_interval) == (4900, "usd", "month")
        assert (subscription.customer.external_id, subscription.product.name) == ("team", "Team+")
        assert subscription.discount is not None and subscription.discount.id == five.id
        assert [p.id for p in subscription.prices] == [fixed.id, metered.id]
        assert [s.id for s in polar.subscriptions.list().items] == [subscription.id]
        canceled = polar.subscriptions.update(subscription.id, cancel_at_period_end=True)
        assert canceled.cancel_at_period_end and canceled.ends_at == canceled.current_period_end


def test_invoices_are_polars_orders_through_polar_sdk(org, other_org, api_url) -> None:
    product = org.http.post("/v1/products/", json={"name": "Seat", "recurring_interval": "month",
                                                    "prices": [{"amount_type": "fixed", "price_amount": 1200}]}).json()
    for who in ("ana", "ben"):
        org.http.post("/v1/customers/", json={"email": f"{who}@example.com", "external_id": who})
        assert org.http.post("/v1/subscriptions/", json={"external_customer_id": who,
                                                         "product_id": product["id"]}).status_code == 201
    with Polar(org.token, base_url=api_url) as polar:
        listed = polar.orders.list()
        assert listed.pagination.total_count == 2
        assert [o.customer.external_id for o in listed.items] == ["ben", "ana"]  # newest first, Polar's default
        ana = polar.orders.list(external_customer_id="ana").items
        assert [(o.total_amount, o.status, o.billing_reason, o.product.name) for o in ana] == [
            (1200, "pending", "subscription_create", "Seat")]
        order = polar.orders.get(ana[0].id)
        assert (order.id, order.customer.email, order.items[0].amount) == (ana[0].id, "ana@example.com", 1200)
        assert polar.orders.list(status="paid").items == []
        assert polar.orders.list(product_billing_type="one_time").items == []
        assert [o.total_amount for o in polar.orders.list(sorting=["amount"]).items] == [1200, 1200]
        url = polar.orders.invoice(order.id).url
        pdf = org.http.get(url)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        rows = list(csv.DictReader(io.StringIO(polar.orders.export(timezone="Europe/Paris"))))
        assert [(r["customer_external_id"], r["total_amount"], r["status"]) for r in rows] == [
            ("ana", "1200", "pending"), ("ben", "1200", "pending")]
        assert rows[0]["created_at"].endswith("+01:00")  # December in Paris
        subs = list(csv.DictReader(io.StringIO(polar.subscriptions.export())))
        assert [(r["customer_email"], r["amount"], r["interval"], r["status"]) for r in subs] == [
            ("ana@example.com", "1200", "1 month", "active"), ("ben@example.com", "1200", "1 month", "active")]
        with pytest.raises(HTTPValidationError) as refused:
            polar.subscriptions.export(timezone="Mars/Olympus")
        assert [list(d.loc) for d in refused.value.error.detail] == [["query", "timezone"]]
        assert [o.id for o in polar.organizations.list().items] == [org.id]
        assert polar.organizations.list(slug="someone-else").items == []
    with Polar(other_org.token, base_url=api_url) as other, pytest.raises(ResourceNotFound):
        other.orders.get(ana[0].id)


def test_billing_bodies_refuse_polar_fields_meterbill_does_not_implement_by_name(org) -> None:
    product = {"name": "P", "recurring_interval": "month", "prices": [{"amount_type": "fixed", "price_amount": 100}]}
    made = org.http.post("/v1/products/", json=product).json()
    for path, method, body, field in (
            ("/v1/products/", "post", {**product, "medias": ["m1"]}, "medias"),
            (f"/v1/products/{made['id']}", "patch", {"prices": []}, "prices"),
            ("/v1/discounts/", "post", {"name": "D", "type": "percentage", "basis_points": 100, "duration": "once",
                                        "starts_at": "2027-01-01T00:00:00Z"}, "starts_at"),
            ("/v1/subscriptions/", "post", {"external_customer_id": "x", "product_id": made["id"],
                                            "trial_interval": "day"}, "trial_interval"),
            (f"/v1/organizations/{org.id}", "patch", {"feature_settings": {}}, "feature_settings")):
        response = getattr(org.http, method)(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert [d["loc"] for d in response.json()["detail"]] == [["body", field]], (path, response.text)
    # Nested too: a price's field Meterbill does not implement (Polar's tax_behavior) is named where it is.
    priced = org.http.post("/v1/products/", json={**product, "prices": [
        {"amount_type": "fixed", "price_amount": 100, "tax_behavior": "inclusive"}]})
    assert priced.status_code == 422
    assert [d["loc"][-1] for d in priced.json()["detail"]] == ["tax_behavior"], priced.text
