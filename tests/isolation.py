"""The harness every route uses to prove one organization cannot read or write another's data."""

from __future__ import annotations

from collections.abc import Iterable

import httpx


def assert_invisible(intruder: httpx.Client, paths: Iterable[str]) -> None:
    """Each path names a resource of another organization: the intruder gets 404 and no data."""
    for path in paths:
        response = intruder.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text)


def assert_not_listed(intruder: httpx.Client, list_path: str, foreign_ids: Iterable[str]) -> None:
    response = intruder.get(list_path)
    assert response.status_code == 200, response.text
    listed = {item["id"] for item in response.json()["items"]}
    assert not listed & set(foreign_ids), (list_path, listed & set(foreign_ids))
