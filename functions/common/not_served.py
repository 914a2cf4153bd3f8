"""Polar's API groups Meterbill does not serve, and the one answer they get.

A program written for Polar that calls one of these gets a 501 with `{"error": "NotServed", "detail":
"Meterbill does not serve Polar's <group> API"}` (polar-sdk raises `PolarServerError` with `status_code`
501), never a 404 that reads like a missing resource. Meterbill bills usage and keeps invoices; it takes no
payments, runs no checkout and grants no benefits, so these groups have nothing behind them (docs/api.md has
the table of polar-sdk methods). A path is matched only when no route has it, so a group served later wins.
"""

from __future__ import annotations

import re

_ID = r"[^/]+"
_CUSTOMER = r"(?:external/[^/]+|(?!external/)[^/]+)"  # /v1/customers/{id} or /external/{external_id}

# (path pattern, the group's name as polar-sdk names it). Checked in order; the first match names the group.
# Compiled on the first path no route has (re's cache keeps them), not in every API Lambda's cold start.
NOT_SERVED: tuple[tuple[str, str], ...] = (
    (r"^/v1/customer-portal/benefit-grants(/|$)", "customer_portal.benefit_grants"),
    (r"^/v1/customer-portal/downloadables(/|$)", "customer_portal.downloadables"),
    (r"^/v1/customer-portal/license-keys(/|$)", "customer_portal.license_keys"),
    (r"^/v1/customer-portal/members(/|$)", "customer_portal.members"),
    (r"^/v1/customer-portal/seats(/|$)", "customer_portal.seats"),
    (r"^/v1/customer-portal/wallets(/|$)", "customer_portal.wallets"),
    (r"^/v1/customer-portal/organizations(/|$)", "customer_portal.organizations"),
    (r"^/v1/customer-portal/customers/me/payment-methods(/|$)", "payment methods"),
    (r"^/v1/customer-portal/customers/me/email-update(/|$)", "customer email update"),
    (rf"^/v1/customer-portal/orders/{_ID}/(payment-status|confirm-payment)/?$", "payments"),
    (rf"^/v1/customer-portal/orders/{_ID}/receipt/?$", "receipts (payments)"),  # a receipt records a payment
    (rf"^/v1/orders/{_ID}/receipt/?$", "receipts (payments)"),
    (rf"^/v1/orders/{_ID}/finalize/?$", "manual orders"),  # finalizing a draft order Meterbill never has
    (rf"^/v1/customers/{_CUSTOMER}/payment-methods(/|$)", "payment methods"),
    (rf"^/v1/customers/{_CUSTOMER}/members(/|$)", "customers.members"),
    (r"^/v1/benefits(/|$)", "benefits"),
    (r"^/v1/benefit-grants(/|$)", "benefit_grants"),
    (rf"^/v1/products/{_ID}/benefits/?$", "benefits"),
    (r"^/v1/checkouts(/|$)", "checkouts"),
    (r"^/v1/checkout-links(/|$)", "checkout_links"),
    (r"^/v1/custom-fields(/|$)", "custom_fields"),
    (r"^/v1/customer-seats(/|$)", "customer_seats"),
    (r"^/v1/disputes(/|$)", "disputes"),
    (r"^/v1/files(/|$)", "files"),
    (r"^/v1/license-keys(/|$)", "license_keys"),
    (r"^/v1/metrics(/|$)", "metrics"),
    (r"^/v1/oauth2(/|$)", "oauth2"),
    (r"^/v1/payments(/|$)", "payments"),
    (r"^/v1/refunds(/|$)", "refunds"),
)


def not_served_group(path: str) -> str | None:
    """The polar-sdk group a path belongs to if Meterbill does not serve it, else None."""
    for pattern, group in NOT_SERVED:
        if re.match(pattern, path):
            return group
    return None
