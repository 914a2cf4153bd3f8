"""Polar's groups Meterbill does not serve are named by path; the groups it serves are never caught."""

from functions.common.not_served import not_served_group


def test_unserved_paths_name_their_group() -> None:
    assert not_served_group("/v1/payments/") == "payments"
    assert not_served_group("/v1/checkouts/client/secret/confirm") == "checkouts"
    assert not_served_group("/v1/customers/abc/payment-methods") == "payment methods"
    assert not_served_group("/v1/customers/external/abc/members/m1") == "customers.members"
    assert not_served_group("/v1/customer-portal/wallets/") == "customer_portal.wallets"
    assert not_served_group("/v1/customer-portal/orders/o1/payment-status") == "payments"


def test_served_paths_are_not_caught() -> None:
    for path in ("/v1/customers/", "/v1/customers/abc", "/v1/customers/external/members", "/v1/products/p1",
                 "/v1/customer-portal/orders/o1/invoice", "/v1/customer-portal/customers/me", "/v1/paymentsx",
                 "/v1/webhooks/endpoints"):
        assert not_served_group(path) is None, path
