"""Portal routes: the HTML portal under /portal and Polar's /v1/customer-portal JSON API.

A session link (`/portal?customer_session_token=...`) sets an HttpOnly cookie and redirects to `/portal`, so
the token leaves the address bar. The JSON API takes the token as `Authorization: Bearer` (Polar's way) or the
cookie (the page's refresh script).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from functions.billing.render import invoice_pdf
from functions.common.errors import Unauthorized
from functions.common.http import bearer_token
from functions.common.openapi import describe
from functions.common.pagination import page_of
from functions.customer_sessions.service import LIFETIME, CustomerPrincipal, authenticate
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
                        headers={"Content-Disposition": f'inline; filename="invoice-{found["number"]}.pdf"'})

    @app.get("/v1/customer-portal/meters", **describe("portal.CustomerCustomerMeter", page=True, customer=True))
    def portal_meters() -> dict:
        rows = service.meters(customer(app))
        return page_of(rows, 1, max(1, len(rows)))

    @app.get("/v1/customer-portal/subscriptions", **describe("portal.CustomerSubscription", page=True,
                                                                customer=True))
    def portal_subscriptions() -> dict:
        rows = service.subscriptions(customer(app))
        return page_of(rows, 1, max(1, len(rows)))

    @app.get("/v1/customer-portal/invoices", **describe("portal.CustomerInvoice", page=True, customer=True))
    def portal_invoices() -> dict:
        rows = service.invoices(customer(app))
        return page_of(rows, 1, max(1, len(rows)))

    @app.get("/v1/customer-portal/orders", **describe("portal.CustomerInvoice", page=True, customer=True))
    def portal_orders() -> dict:
        """Polar's name for the customer's bills."""
        return portal_invoices()
