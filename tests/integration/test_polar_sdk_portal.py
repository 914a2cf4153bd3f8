"""polar-sdk's customer portal (`polar.customer_portal`), method by method, through the real client holding a
customer session token, on a customer with a subscription, a closed cycle (two invoices) and usage.

The cases are generated from the SDK's own list of methods: a method nobody mapped here fails as such. Methods of
what Meterbill does not serve (payment methods, email updates, payments) must answer its one typed 501.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from polar.base import PolarServerError
from polar.v2026_10.client import Polar
from polar.v2026_10.errors import (
    AlreadyCanceledSubscription,
    CustomerPortalSubscriptionsUpdate403Error,
    HTTPValidationError,
    OrderNotEligibleForInvoice,
    ResourceNotFound,
)

from functions.common.clock import parse_iso
from tests.conftest import Org
from tests.integration.test_billing import close_cycles

GROUPS = ("customer_meters", "customer_session", "customers", "orders", "subscriptions")
NOT_SERVED = {  # (group, method): Meterbill takes no payments and sends no email
    ("customers", "add_payment_method"), ("customers", "confirm_payment_method"),
    ("customers", "delete_payment_method"), ("customers", "list_payment_methods"),
    ("customers", "iter_list_payment_methods"), ("customers", "request_email_update"),
    ("customers", "check_email_update"), ("customers", "verify_email_update"),
    ("orders", "get_payment_status"), ("orders", "confirm_retry_payment"),
    ("orders", "receipt"),  # a receipt records a payment
}


def sdk_methods() -> list[tuple[str, str]]:
    client = Polar("unused", base_url="http://unused")
    return [(group, name) for group in GROUPS
            for name, _ in inspect.getmembers(getattr(client.customer_portal, group), inspect.ismethod)
            if not name.startswith("_") and name != "from_service"]


class World:
    """One organization: `Tokens` (sum of `tokens`, unit token) priced on Pro (20.00 a month plus 1 cent a token
    over 10 included); Max (50.00) offered in the portal. Lin subscribed to Pro, used 25 tokens in the first
    period, which was closed (invoices: 20.00 at creation, then 15 x 1c + 20.00 = 20.15), then 12 tokens in the
    second (2 billable). Bob has his own subscription, for isolation."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.org = Org(api_url)
        http = self.org.http
        meter = http.post("/v1/meters/", json={
            "name": "Tokens", "unit": "token", "aggregation": {"func": "sum", "property": "tokens"},
            "filter": {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "llm"}]}})
        assert meter.status_code == 201, meter.text
        self.meter_id = meter.json()["id"]
        self.pro = self.product("Pro", [{"amount_type": "fixed", "price_amount": 2000},
                                        {"amount_type": "metered_unit", "meter_id": self.meter_id, "unit_amount": "1",
                                         "credited_units": 10}])
        self.max = self.product("Max", [{"amount_type": "fixed", "price_amount": 5000}])
        assert http.patch(f"/v1/organizations/{self.org.id}", json={"portal_products": [self.max]}).status_code == 200
        self.lin = self.subscribed("lin", name="Lin", billing_address={"country": "FR", "city": "Lyon"})
        self.bob = self.subscribed("bob")
        self.ingest("lin", [10, 15], "p1")
        end = parse_iso(http.get(f"/v1/subscriptions/{self.lin['subscription_id']}").json()["current_period_end"])
        assert close_cycles(end + timedelta(hours=2))["failed"] == 0
        self.ingest("lin", [5, 7], "p2")  # stamped in the closed period: counted (late) in the open one
        invoices = http.get("/v1/invoices/", params={"customer_id": self.lin["customer_id"]}).json()["items"]
        assert [(i["billing_reason"], i["total"]) for i in invoices] == [("subscription_cycle", 2015),
                                                                         ("subscription_create", 2000)]
        self.lin_invoices = invoices
        self.bob_invoice = http.get("/v1/invoices/", params={"customer_id": self.bob["customer_id"]}
                                    ).json()["items"][0]

    def product(self, name: str, prices: list[dict]) -> str:
        response = self.org.http.post("/v1/products/", json={"name": name, "recurring_interval": "month",
                                                             "prices": prices})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def ingest(self, who: str, tokens: list[int], prefix: str) -> None:
        response = self.org.http.post("/v1/events/ingest", json={"events": [
            {"name": "llm", "external_customer_id": who, "external_id": f"{prefix}-{i}", "metadata": {"tokens": n}}
            for i, n in enumerate(tokens)]})
        assert response.status_code == 200, response.text

    def subscribed(self, who: str, **customer: Any) -> dict[str, Any]:
        """A customer on Pro with a session: its session's fields, and `subscription_id`."""
        made = self.org.http.post("/v1/customers/", json={"email": f"{who}@example.com", "external_id": who,
                                                          **customer})
        assert made.status_code == 201, made.text
        sub = self.org.http.post("/v1/subscriptions/", json={"external_customer_id": who, "product_id": self.pro})
        assert sub.status_code == 201, sub.text
        session = self.org.http.post("/v1/customer-sessions/", json={"external_customer_id": who,
                                                                     "return_url": "https://app.example.com/"})
        assert session.status_code == 201, session.text
        return {**session.json(), "subscription_id": sub.json()["id"]}

    def client(self, who: dict[str, Any]) -> Polar:
        return Polar(who["token"], base_url=self.api_url)


@pytest.fixture(scope="module")
def world(api_url: str) -> World:
    return World(api_url)


Case = Callable[[World], None]
CASES: dict[tuple[str, str], Case] = {}


def case(group: str, method: str) -> Callable[[Case], Case]:
    def register(function: Case) -> Case:
        CASES[(group, method)] = function
        return function
    return register


# customer_meters -------------------------------------------------------------------------------------------------

@case("customer_meters", "list")
def _meters_list(world: World) -> None:
    with world.client(world.lin) as polar:
        page = polar.customer_portal.customer_meters.list()
        assert page.pagination.total_count == 1
        row = page.items[0]
        assert (row.meter.name, row.consumed_units, row.credited_units, row.balance) == ("Tokens", 12, 10, -2)
        assert row.meter.id == row.meter_id == world.meter_id and row.customer_id == world.lin["customer_id"]
        assert row.meter.created_at
        assert polar.customer_portal.customer_meters.list(query="TOK").pagination.total_count == 1
        assert polar.customer_portal.customer_meters.list(query="calls").items == []
        assert polar.customer_portal.customer_meters.list(meter_id=world.meter_id).pagination.total_count == 1
        assert polar.customer_portal.customer_meters.list(meter_id="nope").items == []
        assert len(polar.customer_portal.customer_meters.list(sorting=["meter_name"], limit=1, page=1).items) == 1
        assert polar.customer_portal.customer_meters.list(page=2, limit=1).items == []
        with pytest.raises(HTTPValidationError) as raised:
            polar.customer_portal.customer_meters.list(sorting=["colour"])  # type: ignore[list-item]
        assert [list(e.loc) for e in raised.value.error.detail] == [["query", "sorting"]]


@case("customer_meters", "iter_list")
def _meters_iter_list(world: World) -> None:
    with world.client(world.lin) as polar:
        assert [(m.meter.name, m.consumed_units) for m in polar.customer_portal.customer_meters.iter_list(limit=1)
                ] == [("Tokens", 12)]


@case("customer_meters", "get")
def _meters_get(world: World) -> None:
    with world.client(world.lin) as polar:
        listed = polar.customer_portal.customer_meters.list().items[0]
        got = polar.customer_portal.customer_meters.get(listed.id)
        assert (got.id, got.consumed_units, got.meter.name) == (listed.id, 12, "Tokens")
    with world.client(world.bob) as polar, pytest.raises(ResourceNotFound):  # Lin's, not Bob's
        polar.customer_portal.customer_meters.get(listed.id)


# customer_session ------------------------------------------------------------------------------------------------

@case("customer_session", "introspect")
def _session_introspect(world: World) -> None:
    with world.client(world.lin) as polar:
        got = polar.customer_portal.customer_session.introspect()
    assert (parse_iso(got.expires_at), got.return_url) == (parse_iso(world.lin["expires_at"]),
                                                           "https://app.example.com/")


@case("customer_session", "get_authenticated_user")
def _session_user(world: World) -> None:
    with world.client(world.lin) as polar:
        user = polar.customer_portal.customer_session.get_authenticated_user()
    assert (user.type, user.name, user.email, user.customer_id, user.member_id) == (
        "customer", "Lin", "lin@example.com", world.lin["customer_id"], None)


# customers (the customer's own record) ---------------------------------------------------------------------------

@case("customers", "get")
def _customers_get(world: World) -> None:
    with world.client(world.lin) as polar:
        me = polar.customer_portal.customers.get()
    assert (me.id, me.email, me.name, me.billing_name) == (world.lin["customer_id"], "lin@example.com", "Lin", "Lin")
    assert me.billing_address is not None and (me.billing_address.country, me.billing_address.city) == ("FR", "Lyon")


@case("customers", "update")
def _customers_update(world: World) -> None:
    who = world.subscribed("upd-me")
    with world.client(who) as polar:
        me = polar.customer_portal.customers.update(billing_name="Me GmbH", tax_id="DE123456789",
                                                    billing_address={"country": "DE", "city": "Berlin"})
        assert (me.billing_name, list(me.tax_id or [])) == ("Me GmbH", ["DE123456789", None])
        assert me.billing_address is not None and me.billing_address.country == "DE"
        assert polar.customer_portal.customers.get().billing_name == "Me GmbH"
        with pytest.raises(HTTPValidationError) as raised:  # Meterbill keeps no payment methods
            polar.customer_portal.customers.update(default_payment_method_id="pm_1")
        assert [list(e.loc) for e in raised.value.error.detail] == [["body", "default_payment_method_id"]]
        assert polar.customer_portal.customers.update(default_payment_method_id=None).billing_name == "Me GmbH"


# orders (Meterbill's invoices) -----------------------------------------------------------------------------------

@case("orders", "list")
def _orders_list(world: World) -> None:
    with world.client(world.lin) as polar:
        page = polar.customer_portal.orders.list()
        assert [(o.billing_reason, o.status, o.paid, o.subtotal_amount, o.net_amount, o.tax_amount, o.total_amount,
                 o.due_amount) for o in page.items] == [
            ("subscription_cycle", "pending", False, 2015, 2015, 0, 2015, 2015),
            ("subscription_create", "pending", False, 2000, 2000, 0, 2000, 2000)]
        cycle = page.items[0]
        assert cycle.invoice_number == str(world.lin_invoices[0]["number"]) and cycle.is_invoice_generated
        assert cycle.product is not None and cycle.product.name == "Pro"
        assert cycle.subscription is not None and cycle.subscription.id == world.lin["subscription_id"]
        assert (cycle.billing_name, cycle.billing_address.country if cycle.billing_address else None) == ("Lin", "FR")
        assert sorted(item.amount for item in cycle.items) == [15, 2000]
        assert [o.total_amount for o in polar.customer_portal.orders.list(sorting=["created_at"]).items] == [2000, 2015]
        assert [o.total_amount for o in polar.customer_portal.orders.list(sorting=["-amount"], limit=1).items] == [2015]
        assert polar.customer_portal.orders.list(subscription_id=world.bob["subscription_id"]).items == []
        assert polar.customer_portal.orders.list(product_id=world.pro).pagination.total_count == 2
        assert polar.customer_portal.orders.list(product_billing_type="one_time").items == []
        assert polar.customer_portal.orders.list(query="pro").pagination.total_count == 2


@case("orders", "iter_list")
def _orders_iter_list(world: World) -> None:
    with world.client(world.lin) as polar:
        assert [o.total_amount for o in polar.customer_portal.orders.iter_list(limit=1)] == [2015, 2000]


@case("orders", "get")
def _orders_get(world: World) -> None:
    with world.client(world.lin) as polar:
        got = polar.customer_portal.orders.get(world.lin_invoices[1]["id"])
        assert (got.id, got.total_amount, got.billing_reason) == (world.lin_invoices[1]["id"], 2000,
                                                                   "subscription_create")
        with pytest.raises(ResourceNotFound):
            polar.customer_portal.orders.get(world.bob_invoice["id"])


@case("orders", "invoice")
def _orders_invoice(world: World) -> None:
    invoice_id = world.lin_invoices[0]["id"]
    with world.client(world.lin) as polar:
        url = polar.customer_portal.orders.invoice(invoice_id).url
        with pytest.raises(ResourceNotFound):
            polar.customer_portal.orders.invoice(world.bob_invoice["id"])
    assert url == f"{world.api_url}/portal/invoices/{invoice_id}/pdf"
    pdf = httpx.get(url, headers={"Authorization": f"Bearer {world.lin['token']}"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@case("orders", "generate_invoice")
def _orders_generate_invoice(world: World) -> None:
    with world.client(world.lin) as polar:
        with pytest.raises(OrderNotEligibleForInvoice) as raised:  # written when the invoice was issued
            polar.customer_portal.orders.generate_invoice(world.lin_invoices[0]["id"])
        assert raised.value.status_code == 409 and "issued" in raised.value.error.detail
        with pytest.raises(ResourceNotFound):
            polar.customer_portal.orders.generate_invoice(world.bob_invoice["id"])


@case("orders", "update")
def _orders_update(world: World) -> None:
    invoice_id = world.lin_invoices[0]["id"]
    with world.client(world.lin) as polar:
        with pytest.raises(HTTPValidationError) as raised:  # an issued invoice is not rewritten
            polar.customer_portal.orders.update(invoice_id, billing_name="Lin SARL",
                                                billing_address={"country": "FR", "city": "Paris"})
        assert [list(e.loc) for e in raised.value.error.detail] == [["body", "billing_name"],
                                                                     ["body", "billing_address"]]
        unchanged = polar.customer_portal.orders.update(invoice_id)
        assert (unchanged.billing_name, unchanged.total_amount) == ("Lin", 2015)
        with pytest.raises(ResourceNotFound):
            polar.customer_portal.orders.update(world.bob_invoice["id"])


# subscriptions ---------------------------------------------------------------------------------------------------

@case("subscriptions", "list")
def _subscriptions_list(world: World) -> None:
    with world.client(world.lin) as polar:
        page = polar.customer_portal.subscriptions.list()
        assert page.pagination.total_count == 1
        sub = page.items[0]
        assert (sub.id, sub.status, sub.amount, sub.currency, sub.recurring_interval, sub.product.name) == (
            world.lin["subscription_id"], "active", 2000, "usd", "month", "Pro")
        assert sorted(p.amount_type for p in sub.prices) == ["fixed", "metered_unit"]
        assert [(m.meter.name, m.consumed_units, m.credited_units, m.amount) for m in sub.meters] == [
            ("Tokens", 12, 10, 2)]
        assert (sub.cancel_at_period_end, sub.ends_at, sub.pending_update) == (False, None, None)
        assert polar.customer_portal.subscriptions.list(active=False).items == []
        assert polar.customer_portal.subscriptions.list(product_id=world.max).items == []
        assert polar.customer_portal.subscriptions.list(query="pro", sorting=["-amount"]).pagination.total_count == 1


@case("subscriptions", "iter_list")
def _subscriptions_iter_list(world: World) -> None:
    with world.client(world.lin) as polar:
        assert [s.id for s in polar.customer_portal.subscriptions.iter_list()] == [world.lin["subscription_id"]]


@case("subscriptions", "get")
def _subscriptions_get(world: World) -> None:
    with world.client(world.lin) as polar:
        got = polar.customer_portal.subscriptions.get(world.lin["subscription_id"])
        assert (got.id, got.product_id, got.amount) == (world.lin["subscription_id"], world.pro, 2000)
        with pytest.raises(ResourceNotFound):
            polar.customer_portal.subscriptions.get(world.bob["subscription_id"])


@case("subscriptions", "update")
def _subscriptions_update(world: World) -> None:
    who = world.subscribed("upd-sub")
    sub_id = who["subscription_id"]
    with world.client(who) as polar:
        portal = polar.customer_portal.subscriptions
        changed = portal.update(sub_id, product_id=world.max)
        assert (changed.product_id, changed.product.name, changed.amount) == (world.max, "Max", 5000)
        canceled = portal.update(sub_id, cancel_at_period_end=True, cancellation_reason="too_complex",
                                 cancellation_comment="too many knobs")
        assert canceled.cancel_at_period_end and canceled.ends_at is not None
        assert parse_iso(canceled.ends_at) == parse_iso(canceled.current_period_end)
        assert portal.update(sub_id, cancel_at_period_end=False).cancel_at_period_end is False
        assert portal.update(sub_id, pending_update=None).product_id == world.max  # nothing is pending
        for body, error in (({"seats": 2}, "UpdateSubscriptionSeatsNotAllowed"),
                            ({"units": 2}, "UpdateSubscriptionUnitsNotAllowed"),
                            ({"pause_at_period_end": True}, "PauseResumeNotAllowed"),
                            ({"resume": True}, "PauseResumeNotAllowed")):
            with pytest.raises(CustomerPortalSubscriptionsUpdate403Error) as raised:
                portal.update(sub_id, **body)  # type: ignore[call-overload]
            assert raised.value.error.error == error, body
        with pytest.raises(ResourceNotFound):
            portal.update(world.bob["subscription_id"], cancel_at_period_end=True)
    log = world.org.http.get("/v1/audit-log", params={"customer_id": who["customer_id"]}).json()["items"]
    scheduled = next(e for e in log if e["action"] == "subscription.cancel_scheduled")
    assert (scheduled["changes"]["cancellation_reason"], scheduled["changes"]["cancellation_comment"]) == (
        "too_complex", "too many knobs")


@case("subscriptions", "cancel")
def _subscriptions_cancel(world: World) -> None:
    who = world.subscribed("cancel-sub")
    with world.client(who) as polar:
        canceled = polar.customer_portal.subscriptions.cancel(who["subscription_id"])
        assert (canceled.status, canceled.cancel_at_period_end) == ("active", True) and canceled.canceled_at
        with pytest.raises(AlreadyCanceledSubscription):
            polar.customer_portal.subscriptions.cancel(who["subscription_id"])
        with pytest.raises(ResourceNotFound):
            polar.customer_portal.subscriptions.cancel(world.bob["subscription_id"])
    assert world.org.http.get(f"/v1/subscriptions/{world.bob['subscription_id']}").json()[
        "cancel_at_period_end"] is False


def _not_served(world: World, group: str, method: str) -> None:
    """Called with placeholder arguments: the 501 answers before anything is read."""
    call = getattr(getattr(world.client(world.lin).customer_portal, group), method)
    arguments = {name: "x" for name, p in inspect.signature(call).parameters.items()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty}
    with pytest.raises(PolarServerError) as raised:
        result = call(**arguments)
        if inspect.isgenerator(result):
            next(result)
    assert raised.value.status_code == 501 and "NotServed" in str(raised.value)


@pytest.mark.parametrize(("group", "method"), sdk_methods(), ids=lambda v: v)
def test_polar_sdk_customer_portal_method(world: World, group: str, method: str) -> None:
    if (group, method) in NOT_SERVED:
        _not_served(world, group, method)
        return
    assert (group, method) in CASES, f"customer_portal.{group}.{method} has no case: map it, or list it as not served"
    CASES[(group, method)](world)
