"""Portal routes: the HTML portal under /portal and Polar's /v1/customer-portal JSON API.

A session link (`/portal?customer_session_token=...`) sets an HttpOnly cookie and redirects to `/portal`, so
the token leaves the address bar. The JSON API takes the token as `Authorization: Bearer` (Polar's way) or the
cookie (the page's refresh script).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from functions.billing.render import invoice_out, invoice_pdf
from functions.common.errors import Refused, Unauthorized
from functions.common.http import bearer_token, public_base_url
from functions.common.listing import parse_sorting
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customer_sessions.service import LIFETIME, CustomerPrincipal, authenticate
from functions.customers import service as customers
from functions.portal import pages, service
from functions.portal.locale import Locale, negotiate

COOKIE = "mb_portal_session"


def _cookie_token(app: APIGatewayHttpResolver) -> str | None:
    for cookie in app.current_event.cookies or []:
        name, _, value = cookie.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def customer(app: APIGatewayHttpResolver) -> CustomerPrincipal:
    headers = app.current_event.headers or {}
    return authenticate(bearer_token(headers) or _cookie_token(app))


def locale(app: APIGatewayHttpResolver) -> Locale:
    headers = app.current_event.headers or {}
    return negotiate(headers.get("accept-language") or headers.get("Accept-Language"))


def html(status: int, body: str, cookies: list[Cookie] | None = None, headers: dict | None = None) -> Response:
    return Response(status, "text/html; charset=utf-8", body, cookies=cookies,
                    headers={"Cache-Control": "no-store", **(headers or {})})


def register(app: APIGatewayHttpResolver) -> None:
    @app.get("/portal", include_in_schema=False)
    def portal_page():
        token = (app.current_event.query_string_parameters or {}).get("customer_session_token")
        if token:
            try:
                authenticate(token)
            except Unauthorized:
                return html(401, pages.message_page("Link expired", "This portal link has expired or is not "
                                                    "valid. Ask for a new one."))
            cookie = Cookie(name=COOKIE, value=token, path="/", http_only=True, same_site=SameSite.LAX_MODE,
                            max_age=int(LIFETIME.total_seconds()),
                            secure=(app.current_event.headers or {}).get("x-forwarded-proto") == "https")
            return html(303, "", cookies=[cookie], headers={"Location": "/portal"})
        try:
            who = customer(app)
        except Unauthorized:
            return html(401, pages.message_page("Signed out", "Open the portal from a fresh link."))
        data = service.overview(who)
        data["done"] = (app.current_event.query_string_parameters or {}).get("done")
        return html(200, pages.portal_page(data, locale(app)))

    @app.get("/portal/fragments/meters", include_in_schema=False)
    def portal_meters_fragment():
        """The meters section alone, for the page's refresh script (same renderer, same numbers)."""
        try:
            who = customer(app)
        except Unauthorized:
            return html(401, "")
        return html(200, pages.meters_fragment(service.live_meters(who)["meters"], locale(app)))

    @app.get("/portal/invoices/<invoice_id>/pdf", include_in_schema=False)
    def portal_invoice_pdf(invoice_id: str):
        who = customer(app)
        found = service.invoice(who, invoice_id)
        return Response(200, "application/pdf", invoice_pdf(found),
                        headers={"Content-Disposition": f'inline; filename="invoice-{found.number}.pdf"'})

    @app.get("/v1/customer-portal/meters", **describe("portal.CustomerCustomerMeter", page=True, customer=True))
    def portal_meters(
        meter_id: Annotated[list[str] | None, Query()] = None,
        query: Annotated[str | None, Query(description="part of the meter's name")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description=sorting_help(service.CUSTOMER_METER_SORT_KEYS))
                           ] = None,
    ) -> dict:
        keys = parse_sorting(sorting, service.CUSTOMER_METER_SORT_KEYS, "")
        return page_of(service.meters(customer(app), listed(meter_id), query, keys), page, limit)

    @app.get("/v1/customer-portal/meters/<customer_meter_id>", **describe("portal.CustomerCustomerMeter",
                                                                          customer=True))
    def portal_meter(customer_meter_id: str) -> dict:
        return service.meter(customer(app), customer_meter_id)

    @app.get("/v1/customer-portal/subscriptions", **describe("portal.CustomerSubscription", page=True,
                                                                customer=True))
    def portal_subscriptions(
        product_id: Annotated[list[str] | None, Query()] = None,
        active: Annotated[bool | None, Query()] = None,
        query: Annotated[str | None, Query(description="part of the product's or the organization's name")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description=sorting_help(service.SUBSCRIPTION_SORT_KEYS))
                           ] = None,
    ) -> dict:
        keys = parse_sorting(sorting, service.SUBSCRIPTION_SORT_KEYS, "")
        return page_of(service.polar_subscriptions(customer(app), listed(product_id), active, query, keys), page,
                       limit)

    @app.get("/v1/customer-portal/invoices", **describe("portal.CustomerInvoice", page=True, customer=True))
    def portal_invoices() -> dict:
        """Beyond Polar: the invoices as Meterbill writes them (Polar's orders are /v1/customer-portal/orders)."""
        rows = [invoice_out(i) for i in service.invoices(customer(app))]
        return page_of(rows, 1, max(1, len(rows)))

    @app.get("/v1/customer-portal/orders", **describe("portal.CustomerOrder", page=True, customer=True))
    def portal_orders(
        product_id: Annotated[list[str] | None, Query()] = None,
        product_billing_type: Annotated[list[Literal["one_time", "recurring"]] | None, Query()] = None,
        subscription_id: Annotated[list[str] | None, Query()] = None,
        query: Annotated[str | None, Query(description="part of the product's or the organization's name")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        sorting: Annotated[list[str] | None, Query(description=sorting_help(service.ORDER_SORT_KEYS))] = None,
    ) -> dict:
        """Polar's orders: the customer's invoices."""
        keys = parse_sorting(sorting, service.ORDER_SORT_KEYS, "")
        rows = service.polar_orders(customer(app), listed(product_id), listed(subscription_id),
                                    listed(product_billing_type), query, keys)
        return page_of(rows, page, limit)

    @app.get("/v1/customer-portal/orders/<order_id>", **describe("portal.CustomerOrder", customer=True))
    def portal_order(order_id: str) -> dict:
        return service.polar_order(customer(app), order_id)

    @app.get("/v1/customer-portal/orders/<order_id>/invoice", **describe("portal.CustomerOrderInvoice",
                                                                        customer=True))
    def portal_order_invoice(order_id: str) -> dict:
        """The invoice's PDF: the portal's own download, which takes the same session (Bearer or cookie)."""
        found = service.invoice(customer(app), order_id)
        return {"url": f"{public_base_url(app.current_event)}/portal/invoices/{found.id}/pdf"}

    @app.post("/v1/customer-portal/orders/<order_id>/invoice", **describe(
        status=202, content={}, customer=True, body=True, write=True,
        description="Never: the invoice was written when it was issued (409 OrderNotEligibleForInvoice)"))
    def portal_generate_order_invoice(order_id: str) -> dict:
        found = service.invoice(customer(app), order_id)
        raise Refused(409, "OrderNotEligibleForInvoice", f"invoice {found.number} was written when it was "
                      "issued and is rendered from the issued record on every download: there is nothing to "
                      "generate; GET this path for its URL")

    @app.get("/v1/customer-portal/customer-session/introspect", **describe("portal.CustomerCustomerSession",
                                                                          customer=True))
    def portal_session_introspect() -> dict:
        who = customer(app)
        return {"expires_at": who.expires_at, "return_url": who.return_url}

    @app.get("/v1/customer-portal/customer-session/user", **describe("portal.PortalAuthenticatedUser",
                                                                    customer=True))
    def portal_session_user() -> dict:
        who = customer(app)
        me = customers.get(who.organization_id, who.customer_id)
        return {"type": "customer", "name": me.name, "email": me.email or "", "customer_id": me.id,
                "member_id": None, "role": None}


def listed(values: Sequence[str] | None) -> set[str] | None:
    """A repeated query parameter's values (API Gateway joins repeats with commas), or None when absent."""
    if values is None:
        return None
    return {part for value in values for part in value.split(",") if part}


def sorting_help(keys: tuple[str, ...]) -> str:
    return f"{', '.join(keys)}; `-` descends; several comma-separated or repeated"
