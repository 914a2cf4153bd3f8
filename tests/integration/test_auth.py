"""Tokens: missing or wrong is 401, missing scope is 403, and one organization never sees another."""

import httpx

from functions.organizations.service import create_token
from tests.isolation import assert_invisible


def test_missing_and_wrong_tokens_are_401(org, api_url) -> None:
    path = f"/v1/organizations/{org.id}"
    assert httpx.get(api_url + path).status_code == 401
    wrong = httpx.get(api_url + path, headers={"Authorization": "Bearer mb_oat_not-a-token"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Unauthorized", "detail": "invalid or revoked token"}
    assert org.http.get(path).status_code == 200


def test_token_without_scope_is_403(org, api_url) -> None:
    token = create_token(org.id, ("events:write",))
    response = httpx.get(f"{api_url}/v1/organizations/{org.id}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "organizations:read" in response.json()["detail"]


def test_an_organization_cannot_read_another(org, other_org) -> None:
    assert_invisible(other_org.http, [f"/v1/organizations/{org.id}"])


def test_unknown_route_is_json_404(org) -> None:
    response = org.http.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_openapi_document_is_published(api_url) -> None:
    document = httpx.get(f"{api_url}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/v1/organizations/{organization_id}" in document["paths"]
    assert {"/v1/events/ingest", "/v1/meters", "/v1/customers/{customer_id}/state"} <= set(document["paths"])
