"""Polar's organization fields that say what Meterbill does, and the slug. Plain data, without the request
models of schemas.py, so that the portal Lambda reads them without building those (its cold start)."""

from __future__ import annotations

# What Meterbill does, in the words of Polar's organization settings: it sends no email, takes no payment, runs
# one subscription per customer, and its portal shows usage and lets a customer change plan.
SUBSCRIPTION_SETTINGS = {"allow_multiple_subscriptions": False, "proration_behavior": "prorate",
                         "benefit_revocation_grace_period": 0, "prevent_trial_abuse": False,
                         "allow_customer_updates": True}
CUSTOMER_EMAIL_SETTINGS = {name: False for name in (
    "order_confirmation", "payment_method_expiration_reminder", "subscription_cancellation",
    "subscription_confirmation", "subscription_cycled", "subscription_cycled_after_trial", "subscription_past_due",
    "subscription_paused", "subscription_resumed", "subscription_renewal_reminder", "subscription_revoked",
    "subscription_trial_conversion_reminder", "subscription_uncanceled", "subscription_updated")}
CUSTOMER_PORTAL_SETTINGS = {"usage": {"show": True},
                            "subscription": {"update_seats": False, "update_plan": True, "update_units": None,
                                             "pause": None},
                            "customer": {"allow_email_change": False}}
CAPABILITIES = {"checkout_payments": False, "subscription_renewals": True, "payouts": False, "refunds": False,
                "api_access": True, "dashboard_access": False}


def slug_of(name: str) -> str:
    """Polar's organization slug, from the name (Meterbill has no slugs of its own)."""
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split()) or "organization"
