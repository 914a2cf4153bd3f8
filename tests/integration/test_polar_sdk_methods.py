"""Every method of the polar-sdk groups Meterbill serves to an organization token, through the real client, on an
organization holding what real use leaves behind (an auto-created customer, an archived meter, a cancelled
subscription, a void invoice).

The cases are generated from the SDK's own list of methods: a method nobody mapped fails as such. A method
Meterbill does not serve must answer its typed refusal (NOT_SERVED: the one 501; REFUSED: Polar's own error)."""

from __future__ import annotations

import csv
import inspect
import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from polar.base import PolarServerError
from polar.v2026_10.client import Polar
from polar.v2026_10.errors import OrderNotEligibleForInvoice, ProductNotDeletable, ResourceNotFound

from tests.conftest import Org

GROUPS = ("events", "meters", "customer_meters", "customers", "customer_sessions", "products", "subscriptions",
          "orders", "discounts", "organizations", "event_types", "webhooks")
NOT_SERVED = {  # (group, method): the 501 NotServed; Meterbill takes no payments and writes no manual orders
    ("customers", "list_payment_methods"), ("customers", "iter_list_payment_methods"),
    ("customers", "list_payment_methods_external"), ("customers", "iter_list_payment_methods_external"),
    ("products", "update_benefits"), ("orders", "receipt"), ("orders", "create"), ("orders", "update"),
    ("orders", "finalize"),
}


def sdk_methods() -> list[tuple[str, str]]:
    client = Polar("unused", base_url="http://unused")
    return [(group, name) for group in GROUPS
            for name, _ in inspect.getmembers(getattr(client, group), inspect.ismethod)
            if not name.startswith("_") and name != "from_service"]


class World:
    """One organization: a meter `Calls` (and an archived one), a product `Pro` (12.00 a month plus 1 cent a call),
    Ana subscribed with 3 calls, Bob's subscription cancelled now (its final invoice voided), a customer ingest
    auto-created (`ghost`), a discount, a webhook endpoint."""

    def __init__(self, api_url: str) -> None:
        self.org = Org(api_url)
        self.api_url = api_url
        http = self.org.http
        self.meter = self._made(http.post("/v1/meters/", json={
            "name": "Calls", "filter": {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq",
                                                                           "value": "call"}]},
            "aggregation": {"func": "count"}}))
        old = self._made(http.post("/v1/meters/", json={"name": "Old", "filter": {"conjunction": "and",
                                                                                   "clauses": []},
                                                        "aggregation": {"func": "count"}}))
        assert http.patch(f"/v1/meters/{old['id']}", json={"is_archived": True}).status_code == 200
        self.product = self._made(http.post("/v1/products/", json={
            "name": "Pro", "recurring_interval": "month",
            "prices": [{"amount_type": "fixed", "price_amount": 1200},
                       {"amount_type": "metered_unit", "meter_id": self.meter["id"], "unit_amount": "1"}]}))
        self.ana = self._made(http.post("/v1/customers/", json={"email": "ana@example.com", "external_id": "ana",
                                                                "name": "Ana"}))
        self.bob = self._made(http.post("/v1/customers/", json={"email": "bob@example.com", "external_id": "bob"}))
        self.ana_sub = self._made(http.post("/v1/subscriptions/", json={"external_customer_id": "ana",
                                                                        "product_id": self.product["id"]}))
        bob_sub = self._made(http.post("/v1/subscriptions/", json={"external_customer_id": "bob",
                                                                   "product_id": self.product["id"]}))
        assert http.delete(f"/v1/subscriptions/{bob_sub['id']}").status_code == 200
        bobs = http.get("/v1/invoices/", params={"customer_id": self.bob["id"]}).json()["items"]
        first = next(i for i in bobs if i["billing_reason"] == "subscription_create")
        voided = http.patch(f"/v1/invoices/{first['id']}", json={"status": "void"})
        assert voided.status_code == 200, voided.text
        ingested = http.post("/v1/events/ingest", json={"events": [
            *({"name": "call", "external_customer_id": "ana", "external_id": f"ana-{i}"} for i in range(3)),
            {"name": "call", "external_customer_id": "ghost", "external_id": "ghost-1"}]})
        assert ingested.status_code == 200 and ingested.json()["inserted"] == 4, ingested.text
        self.discount = self._made(http.post("/v1/discounts/", json={"name": "Ten", "type": "percentage",
                                                                     "basis_points": 1000, "duration": "once"}))
        self.invoice = http.get("/v1/invoices/", params={"customer_id": self.ana["id"]}).json()["items"][0]

    @staticmethod
    def _made(response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    def client(self) -> Polar:
        return Polar(self.org.token, base_url=self.api_url)


@pytest.fixture(scope="module")
def world(api_url: str) -> World:
    return World(api_url)


def uid() -> str:
    """Write cases run once per method they cover, on one shared organization: names they create are unique."""
    return uuid.uuid4().hex[:8]


Case = Callable[[World, Polar], None]
CASES: dict[tuple[str, str], Case] = {}


def case(group: str, *methods: str) -> Callable[[Case], Case]:
    def register(function: Case) -> Case:
        for method in methods:
            CASES[(group, method)] = function
        return function
    return register


# events ------------------------------------------------------------------------------------------------------

@case("events", "ingest")
def _events_ingest(w: World, polar: Polar) -> None:
    result = polar.events.ingest(events=[{"name": "call", "external_customer_id": "ana", "external_id": "ana-0"}])
    assert (result.inserted, result.duplicates) == (0, 1)  # already in


@case("events", "list", "get")
def _events_list_get(w: World, polar: Polar) -> None:
    listed = polar.events.list(external_customer_id="ana", limit=10)
    assert [e.name for e in listed.items] == ["call"] * 3
    assert polar.events.get(listed.items[0].id).id == listed.items[0].id


@case("events", "list_names", "iter_list_names")
def _events_names(w: World, polar: Polar) -> None:
    names = {n.name: n.occurrences for n in polar.events.list_names().items}
    assert names == {"call": 4}
    assert [n.name for n in polar.events.iter_list_names()] == ["call"]


# meters ------------------------------------------------------------------------------------------------------

@case("meters", "list", "iter_list", "get")
def _meters_read(w: World, polar: Polar) -> None:
    live = [m.name for m in polar.meters.list(is_archived=False, limit=100).items]
    assert "Calls" in live and "Old" not in live
    assert "Calls" in {m.name for m in polar.meters.iter_list()}
    assert [m.name for m in polar.meters.iter_list(is_archived=True)] == ["Old"]
    assert polar.meters.get(w.meter["id"]).aggregation.func == "count"


@case("meters", "create", "update")
def _meters_write(w: World, polar: Polar) -> None:
    name = f"Uploads {uid()}"
    made = polar.meters.create(name=name, filter={"conjunction": "and", "clauses": [
        {"property": "name", "operator": "eq", "value": "upload"}]}, aggregation={"func": "count"})
    assert polar.meters.update(made.id, name=f"{name} v2").name == f"{name} v2"


@case("meters", "quantities")
def _meters_quantities(w: World, polar: Polar) -> None:
    day = w.ana_sub["current_period_start"][:10]
    found = polar.meters.quantities(w.meter["id"], start_timestamp=f"{day}T00:00:00Z",
                                    end_timestamp=f"{day}T23:59:59Z", interval="day", external_customer_id="ana")
    assert found.total == 3


# customer meters -----------------------------------------------------------------------------------------------

@case("customer_meters", "list", "iter_list", "get")
def _customer_meters(w: World, polar: Polar) -> None:
    rows = [r for r in polar.customer_meters.list(external_customer_id="ana").items if r.meter.name == "Calls"]
    assert [r.consumed_units for r in rows] == [3]
    assert polar.customer_meters.get(rows[0].id).consumed_units == 3
    assert sum(1 for _ in polar.customer_meters.iter_list()) >= 2  # ghost's too


# customers ---------------------------------------------------------------------------------------------------

@case("customers", "list", "iter_list")
def _customers_list(w: World, polar: Polar) -> None:
    external = {c.external_id for c in polar.customers.list(limit=100).items}
    assert {"ana", "bob", "ghost"} <= external  # the auto-created one parses too
    assert {c.external_id for c in polar.customers.iter_list(email="ana@example.com")} == {
        "ana"}


@case("customers", "get", "get_external")
def _customers_get(w: World, polar: Polar) -> None:
    assert polar.customers.get(w.ana["id"]).name == "Ana"
    assert polar.customers.get_external("ghost").email in ("", None)


@case("customers", "get_state", "get_state_external")
def _customers_state(w: World, polar: Polar) -> None:
    calls = w.meter["id"]
    assert [m.consumed_units for m in polar.customers.get_state(w.ana["id"]).active_meters if m.meter_id == calls
            ] == [3]
    assert [m.consumed_units for m in polar.customers.get_state_external("ghost").active_meters
            if m.meter_id == calls] == [1]


@case("customers", "create", "update", "update_external", "delete", "delete_external")
def _customers_write(w: World, polar: Polar) -> None:
    cy, dee = f"cy-{uid()}", f"dee-{uid()}"
    made = polar.customers.create(email=f"{cy}@example.com", external_id=cy)
    assert polar.customers.update(made.id, name="Cy").name == "Cy"
    assert polar.customers.update_external(cy, metadata={"tier": "gold"}).metadata == {"tier": "gold"}
    polar.customers.delete_external(cy)
    with pytest.raises(ResourceNotFound):
        polar.customers.get(made.id)
    other = polar.customers.create(email=f"{dee}@example.com", external_id=dee)
    polar.customers.delete(other.id)
    with pytest.raises(ResourceNotFound):
        polar.customers.get_external(dee)


@case("customers", "export")
def _customers_export(w: World, polar: Polar) -> None:
    rows = list(csv.DictReader(io.StringIO(polar.customers.export())))
    assert {"ana", "bob", "ghost"} <= {r.get("external_id") for r in rows}


# customer sessions ---------------------------------------------------------------------------------------------

@case("customer_sessions", "create")
def _sessions(w: World, polar: Polar) -> None:
    session = polar.customer_sessions.create(external_customer_id="ana")
    assert session.token.startswith("mb_cst_") and session.customer_id == w.ana["id"]


# products ----------------------------------------------------------------------------------------------------

@case("products", "list", "iter_list", "get")
def _products_read(w: World, polar: Polar) -> None:
    assert "Pro" in {p.name for p in polar.products.list(limit=100).items}
    assert w.product["id"] in {p.id for p in polar.products.iter_list()}
    assert [p.amount_type for p in polar.products.get(w.product["id"]).prices] == ["fixed", "metered_unit"]


@case("products", "create", "update")
def _products_write(w: World, polar: Polar) -> None:
    name = f"Lite {uid()}"
    made = polar.products.create(name=name, recurring_interval="month",
                                 prices=[{"amount_type": "fixed", "price_amount": 500}])
    assert polar.products.update(made.id, name=f"{name}+").name == f"{name}+"


@case("products", "delete")
def _products_delete(w: World, polar: Polar) -> None:
    with pytest.raises(ProductNotDeletable):
        polar.products.delete(w.product["id"])
    assert polar.products.get(w.product["id"]).is_archived is False


# subscriptions -------------------------------------------------------------------------------------------------

@case("subscriptions", "list", "iter_list", "get")
def _subscriptions_read(w: World, polar: Polar) -> None:
    statuses = {s.customer.external_id: s.status for s in polar.subscriptions.list(limit=100).items}
    assert statuses["ana"] == "active" and statuses["bob"] == "canceled"
    assert w.ana_sub["id"] in {s.id for s in polar.subscriptions.iter_list()}
    assert polar.subscriptions.get(w.ana_sub["id"]).amount == 1200


@case("subscriptions", "create", "update", "revoke")
def _subscriptions_write(w: World, polar: Polar) -> None:
    eve = f"eve-{uid()}"
    polar.customers.create(email=f"{eve}@example.com", external_id=eve)
    made = polar.subscriptions.create(product_id=w.product["id"], external_customer_id=eve)
    assert polar.subscriptions.update(made.id, cancel_at_period_end=True).cancel_at_period_end is True
    assert polar.subscriptions.revoke(made.id).status == "canceled"


@case("subscriptions", "export")
def _subscriptions_export(w: World, polar: Polar) -> None:
    rows = list(csv.DictReader(io.StringIO(polar.subscriptions.export())))
    assert {(r["customer_external_id"], r["status"]) for r in rows} >= {("ana", "active"), ("bob", "canceled")}


# orders ------------------------------------------------------------------------------------------------------

@case("orders", "list", "iter_list", "get")
def _orders_read(w: World, polar: Polar) -> None:
    statuses = {(o.customer.external_id, o.status) for o in polar.orders.list(limit=100).items}
    assert {("ana", "pending"), ("bob", "void")} <= statuses
    assert w.invoice["id"] in {o.id for o in polar.orders.iter_list()}
    assert polar.orders.get(w.invoice["id"]).total_amount == w.invoice["total"]


@case("orders", "invoice", "generate_invoice")
def _orders_invoice(w: World, polar: Polar) -> None:
    assert polar.orders.invoice(w.invoice["id"]).url.endswith(f"/v1/invoices/{w.invoice['id']}/pdf")
    with pytest.raises(OrderNotEligibleForInvoice):
        polar.orders.generate_invoice(w.invoice["id"])


@case("orders", "export")
def _orders_export(w: World, polar: Polar) -> None:
    rows = list(csv.DictReader(io.StringIO(polar.orders.export())))
    assert w.invoice["id"] in {r["id"] for r in rows}


# discounts ---------------------------------------------------------------------------------------------------

@case("discounts", "list", "iter_list", "get")
def _discounts_read(w: World, polar: Polar) -> None:
    assert "Ten" in {d.name for d in polar.discounts.list(limit=100).items}
    assert w.discount["id"] in {d.id for d in polar.discounts.iter_list()}
    assert polar.discounts.get(w.discount["id"]).basis_points == 1000


@case("discounts", "create", "update", "delete")
def _discounts_write(w: World, polar: Polar) -> None:
    made = polar.discounts.create(name=f"Five {uid()}", type="fixed", amount=500, currency="usd", duration="once")
    updated = polar.discounts.update(made.id, name="Five off", max_redemptions=10)
    assert (updated.name, updated.max_redemptions, updated.amount) == ("Five off", 10, 500)
    polar.discounts.delete(made.id)


# organizations -------------------------------------------------------------------------------------------------

@case("organizations", "get", "list", "iter_list", "update")
def _organizations(w: World, polar: Polar) -> None:
    assert polar.organizations.get(w.org.id).id == w.org.id
    assert [o.id for o in polar.organizations.list().items] == [w.org.id]
    assert [o.id for o in polar.organizations.iter_list()] == [w.org.id]
    name = f"Renamed {uid()}"
    assert polar.organizations.update(w.org.id, name=name).name == name


@case("organizations", "create")
def _organizations_create(w: World, polar: Polar) -> None:
    # An organization token belongs to one organization; new ones are made by the operator (`meterbill`).
    with pytest.raises(Exception) as refused:
        polar.organizations.create(name="Another", slug="another")
    assert getattr(refused.value, "status_code", None) == 405


# event types -------------------------------------------------------------------------------------------------

@case("event_types", "list", "iter_list", "update")
def _event_types(w: World, polar: Polar) -> None:
    listed = polar.event_types.list().items
    call = next(t for t in listed if t.name == "call")
    assert call.occurrences == 4
    assert polar.event_types.update(call.id, label="API call").label == "API call"
    assert any(t.label == "API call" for t in polar.event_types.iter_list())


# webhooks (delivery is tests/integration/test_webhooks.py) ---------------------------------------------------

@case("webhooks", "create_webhook_endpoint", "get_webhook_endpoint", "update_webhook_endpoint",
      "reset_webhook_endpoint_secret", "delete_webhook_endpoint", "list_webhook_endpoints",
      "iter_list_webhook_endpoints")
def _webhook_endpoints(w: World, polar: Polar) -> None:
    made = polar.webhooks.create_webhook_endpoint(url="https://hooks.example.com/m", format="raw",
                                                  events=["order.created"])
    assert polar.webhooks.get_webhook_endpoint(made.id).url == "https://hooks.example.com/m"
    assert polar.webhooks.update_webhook_endpoint(made.id, enabled=False).enabled is False
    assert polar.webhooks.reset_webhook_endpoint_secret(made.id).secret != made.secret
    assert made.id in {e.id for e in polar.webhooks.list_webhook_endpoints().items}
    assert made.id in {e.id for e in polar.webhooks.iter_list_webhook_endpoints()}
    polar.webhooks.delete_webhook_endpoint(made.id)
    with pytest.raises(ResourceNotFound):
        polar.webhooks.get_webhook_endpoint(made.id)


@case("webhooks", "list_webhook_deliveries", "iter_list_webhook_deliveries", "redeliver_webhook_event")
def _webhook_deliveries(w: World, polar: Polar) -> None:
    assert polar.webhooks.list_webhook_deliveries(succeeded=True).items == []  # no endpoint ever received one
    assert [d for d in polar.webhooks.iter_list_webhook_deliveries()] == []
    with pytest.raises(ResourceNotFound):
        polar.webhooks.redeliver_webhook_event("00000000-0000-0000-0000-000000000000")


def _not_served(w: World, polar: Polar, group: str, method: str) -> None:
    """Called with placeholder arguments: the 501 answers before anything is read."""
    call = getattr(getattr(polar, group), method)
    parameters = inspect.signature(call).parameters.items()
    arguments = {name: w.invoice["id"] if name == "id" else "x" for name, p in parameters
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty}
    with pytest.raises(PolarServerError) as raised:
        result = call(**arguments)
        if inspect.isgenerator(result):
            next(result)
    assert raised.value.status_code == 501 and "NotServed" in str(raised.value)


@pytest.mark.parametrize(("group", "method"), sdk_methods(), ids=lambda v: v)
def test_polar_sdk_method(world: World, group: str, method: str) -> None:
    with world.client() as polar:
        if (group, method) in NOT_SERVED:
            _not_served(world, polar, group, method)
            return
        assert (group, method) in CASES, f"{group}.{method} has no case: map it, or list it as not served"
        CASES[(group, method)](world, polar)
