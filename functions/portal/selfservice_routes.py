"""Self-service routes: Polar's customer-portal API (subscriptions, customers/me) and the HTML forms that do the
same without JavaScript. Bodies are checked here by hand (no request models: the portal Lambda's cold start).

Forms post `application/x-www-form-urlencoded`; `form_as_json` turns them into the JSON body every route takes
(the resolver accepts only JSON). A form post must come from the portal's own origin (the session cookie is
SameSite=Lax as well)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.billing import polar
from functions.common.errors import Forbidden, MeterbillError, Refused, ValidationFailed, field_error
from functions.common.http import public_base_url
from functions.common.openapi import describe
from functions.portal import pages, selfservice, service
from functions.portal.routes import customer, html, locale
from functions.store.billing_entities import Subscription

FORM = "application/x-www-form-urlencoded"
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")
REASONS = ("too_expensive", "missing_features", "switched_service", "unused", "customer_service", "low_quality",
           "too_complex", "other")
CUSTOMER_FIELDS = ("billing_name", "billing_address", "tax_id", "default_payment_method_id")
# Polar's subscription updates Meterbill does not do, each refused with the error Polar names for it.
NOT_ALLOWED = {"seats": ("UpdateSubscriptionSeatsNotAllowed", "Meterbill prices no seats"),
               "units": ("UpdateSubscriptionUnitsNotAllowed", "Meterbill prices no purchased units"),
               "pause_at_period_end": ("PauseResumeNotAllowed", "Meterbill does not pause subscriptions"),
               "resumes_at": ("PauseResumeNotAllowed", "Meterbill does not pause subscriptions"),
               "resume": ("PauseResumeNotAllowed", "Meterbill does not pause subscriptions")}
SUBSCRIPTION_FIELDS = ("product_id", "cancel_at_period_end", "cancellation_reason", "cancellation_comment",
                       "pending_update", *NOT_ALLOWED)


def form_as_json(event: dict[str, Any]) -> dict[str, Any]:
    """A portal form post, as the JSON body the routes take (the handler calls this before resolving)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if not (event.get("rawPath") or "").startswith("/portal/") or not headers.get("content-type", "").startswith(FORM):
        return event
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64

        raw = base64.b64decode(raw).decode("utf-8", "replace")
        event["isBase64Encoded"] = False
    fields = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    event["body"] = json.dumps(fields)
    event["headers"] = {**{k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"},
                        "content-type": "application/json"}
    return event


def _body(app: APIGatewayHttpResolver) -> dict[str, Any]:
    try:
        body = app.current_event.json_body
    except (ValueError, TypeError) as exc:
        raise ValidationFailed([field_error(["body"], "the body is not a JSON object")]) from exc
    if not isinstance(body, dict):
        raise ValidationFailed([field_error(["body"], "the body is not a JSON object")])
    return body


def _text(body: dict[str, Any], name: str, limit: int, loc: list[str | int]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed([field_error([*loc, name], f"a string of at most {limit} characters")])
    return value.strip() or None


def unknown_fields(body: dict[str, Any], known: tuple[str, ...]) -> list[dict[str, Any]]:
    return [field_error(["body", name], "Meterbill does not implement this field here", "extra_forbidden")
            for name in body if name not in known]


def customer_changes(body: dict[str, Any]) -> dict[str, Any]:
    """Polar's CustomerPortalCustomerUpdate: the billing details; Meterbill keeps no payment methods, so a
    default one can only be none."""
    errors = unknown_fields(body, CUSTOMER_FIELDS)
    if body.get("default_payment_method_id") is not None:
        errors.append(field_error(["body", "default_payment_method_id"], "Meterbill keeps no payment methods"))
    if errors:
        raise ValidationFailed(errors)
    return billing_changes(body)


def billing_changes(body: dict[str, Any]) -> dict[str, Any]:
    """billing_name, billing_address, tax_id: checked, only those given."""
    changes: dict[str, Any] = {}
    errors = []
    for name, limit in (("billing_name", 256), ("tax_id", 64)):
        if name in body:
            try:
                changes[name] = _text(body, name, limit, ["body"])
            except ValidationFailed as exc:
                errors += exc.errors
    if "billing_address" in body:
        address = body["billing_address"]
        if address is None:
            changes["billing_address"] = None
        elif not isinstance(address, dict):
            errors.append(field_error(["body", "billing_address"], "an address object"))
        else:
            clean = {}
            for field in ADDRESS_FIELDS:
                try:
                    value = _text(address, field, 256, ["body", "billing_address"])
                except ValidationFailed as exc:
                    errors += exc.errors
                    continue
                if value is not None:
                    clean[field] = value
            country = clean.get("country", "")
            if len(country) != 2 or not country.isalpha():
                errors.append(field_error(["body", "billing_address", "country"], "a two-letter country code"))
            clean["country"] = country.upper()
            changes["billing_address"] = clean
    if errors:
        raise ValidationFailed(errors)
    return changes


def _subscription_change(who: Any, subscription_id: str, body: dict[str, Any]) -> Subscription:
    """One of Polar's CustomerSubscriptionUpdate bodies: a product change, a cancellation (or its undoing), or
    clearing the pending update (there never is one: a change applies at once, prorated)."""
    errors = unknown_fields(body, SUBSCRIPTION_FIELDS)
    if errors:
        raise ValidationFailed(errors)
    sub = selfservice.owned_subscription(who, subscription_id)
    for name, (error, why) in NOT_ALLOWED.items():
        if name in body:
            raise Refused(403, error, why)
    if body.get("product_id") is not None:
        if not isinstance(body["product_id"], str):
            raise ValidationFailed([field_error(["body", "product_id"], "a product id")])
        return selfservice.change_product(who, subscription_id, body["product_id"])
    cancel = body.get("cancel_at_period_end")
    if isinstance(cancel, bool):
        reason = body.get("cancellation_reason")
        if reason is not None and reason not in REASONS:
            raise ValidationFailed([field_error(["body", "cancellation_reason"], "one of " + ", ".join(REASONS))])
        comment = _text(body, "cancellation_comment", 1000, ["body"])
        return selfservice.set_cancel_at_period_end(who, subscription_id, cancel, reason, comment)
    if "pending_update" in body and body["pending_update"] is None:
        return sub
    raise ValidationFailed([field_error(["body"], "give product_id, or cancel_at_period_end (true or false)")])


def _same_origin(app: APIGatewayHttpResolver) -> None:
    headers = app.current_event.headers or {}
    origin = headers.get("origin") or headers.get("Origin")
    if origin and origin.rstrip("/") != public_base_url(app.current_event):
        raise Forbidden("a portal form must be posted from the portal")


def _redirect(done: str) -> Response:
    return html(303, "", headers={"Location": f"/portal?done={done}#manage"})


def register(app: APIGatewayHttpResolver) -> None:
    # Polar's customer-portal API ------------------------------------------------------------------------------
    @app.get("/v1/customer-portal/subscriptions/<subscription_id>", **describe("portal.CustomerSubscription",
                                                                            customer=True))
    def portal_subscription(subscription_id: str) -> dict:
        return service.polar_subscription(customer(app), subscription_id)

    @app.patch("/v1/customer-portal/subscriptions/<subscription_id>",
               **describe("portal.CustomerSubscription", customer=True, body=True, write=True))
    def portal_update_subscription(subscription_id: str) -> dict:
        who = customer(app)
        return service.polar_shape(who, _subscription_change(who, subscription_id, _body(app)))

    @app.delete("/v1/customer-portal/subscriptions/<subscription_id>",
                **describe("portal.CustomerSubscription", customer=True, write=True))
    def portal_cancel_subscription(subscription_id: str) -> dict:
        """Polar's cancel: at the end of the period (undone with PATCH cancel_at_period_end=false). Already
        cancelled, or scheduled to be, is Polar's 403 AlreadyCanceledSubscription."""
        who = customer(app)
        sub = selfservice.owned_subscription(who, subscription_id)
        if not sub.active or sub.cancel_at_period_end:
            raise Refused(403, "AlreadyCanceledSubscription", "this subscription is cancelled, or will be at the "
                          "end of its period")
        return service.polar_shape(who, selfservice.set_cancel_at_period_end(who, subscription_id, True))

    @app.get("/v1/customer-portal/subscriptions/<subscription_id>/change-preview",
             **describe("portal.CustomerSubscriptionChangePreview", customer=True))
    def portal_change_preview(subscription_id: str, product_id: Annotated[str, Query()] = "") -> dict:
        """Beyond Polar: what a product change would cost now, before confirming it."""
        preview = selfservice.change_preview(customer(app), subscription_id, product_id)
        return {**preview, "product": polar.offered_product_out(preview["product"])}

    @app.get("/v1/customer-portal/subscriptions/<subscription_id>/products",
             **describe("portal.CustomerProduct", page=True, customer=True))
    def portal_offered_products(subscription_id: str) -> dict:
        """Beyond Polar: the products this subscription may switch to."""
        who = customer(app)
        items = [polar.offered_product_out(p) for p in
                 selfservice.offered_products(who, selfservice.owned_subscription(who, subscription_id))]
        return {"items": items, "pagination": {"total_count": len(items), "max_page": 1}}

    @app.get("/v1/customer-portal/customers/me", **describe("portal.CustomerPortalCustomer", customer=True))
    def portal_me() -> dict:
        who = customer(app)
        return selfservice.portal_customer(selfservice.customers.get(who.organization_id, who.customer_id))

    @app.patch("/v1/customer-portal/customers/me", **describe("portal.CustomerPortalCustomer", customer=True,
                                                                     body=True, write=True))
    def portal_update_me() -> dict:
        who = customer(app)
        return selfservice.portal_customer(selfservice.update_billing_details(who, customer_changes(_body(app))))

    @app.patch("/v1/customer-portal/orders/<order_id>", **describe("portal.CustomerOrder", customer=True,
                                                                   body=True, write=True))
    def portal_update_order(order_id: str) -> dict:
        """An issued invoice is not rewritten: every field given is refused by name (set the billing details on
        the customer, PATCH /v1/customer-portal/customers/me, for the invoices to come). An empty body reads
        the order."""
        found = service.polar_order(customer(app), order_id)
        refused = [field_error(["body", name], "an issued invoice is not changed: set the billing details on "
                               "the customer, for the invoices to come", "extra_forbidden") for name in _body(app)]
        if refused:
            raise ValidationFailed(refused)
        return found

    # The same, as HTML forms --------------------------------------------------------------------------------
    def _form(action: Any) -> Response:
        try:
            who = customer(app)
            _same_origin(app)
            return action(who, _body(app))
        except MeterbillError as exc:
            detail = exc.detail if not isinstance(exc, ValidationFailed) else "; ".join(
                f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors)
            return html(exc.status, pages.message_page("Not changed", f"Nothing was changed: {detail}.",
                                                       back=True))

    @app.get("/portal/subscription/change", include_in_schema=False)
    def portal_change_page():
        query = app.current_event.query_string_parameters or {}
        try:
            who = customer(app)
            preview = selfservice.change_preview(who, query.get("subscription_id") or "", query.get("product_id")
                                                 or "")
        except MeterbillError as exc:
            return html(exc.status, pages.message_page("Not available", exc.detail, back=True))
        return html(200, pages.change_preview_page(preview, locale(app)))

    @app.post("/portal/subscription/change", include_in_schema=False)
    def portal_change_form():
        def act(who: Any, body: dict[str, Any]) -> Response:
            selfservice.change_product(who, str(body.get("subscription_id") or ""), str(body.get("product_id") or ""))
            return _redirect("plan")
        return _form(act)

    @app.post("/portal/subscription/cancel", include_in_schema=False)
    def portal_cancel_form():
        def act(who: Any, body: dict[str, Any]) -> Response:
            cancel = body.get("cancel_at_period_end") == "true"
            reason = body.get("cancellation_reason") or None
            if reason not in (None, *REASONS):
                reason = None
            selfservice.set_cancel_at_period_end(who, str(body.get("subscription_id") or ""), cancel, reason)
            return _redirect("canceled" if cancel else "resumed")
        return _form(act)

    @app.post("/portal/billing-details", include_in_schema=False)
    def portal_billing_form():
        def act(who: Any, body: dict[str, Any]) -> Response:
            address = {f: body.get(f, "") for f in ADDRESS_FIELDS}
            changes = billing_changes({"billing_name": body.get("billing_name", ""), "tax_id": body.get("tax_id", ""),
                                       "billing_address": address})
            selfservice.update_billing_details(who, changes)
            return _redirect("details")
        return _form(act)
