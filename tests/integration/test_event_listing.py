"""A customer's events listed by key (GSI2, sharded by event id): every event exactly once across pages, in
(timestamp, id) order whichever way, with cursors and page numbers alike, through the real API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.common.clock import iso
from tests.integration.conftest import create_meter

BASE = datetime(2026, 11, 3, 12, tzinfo=UTC)


def ingest(org, customer: str, count: int, *, prefix: str = "e", ties: int = 1, name: str = "call") -> list[dict]:
    """`count` events, `ties` of them on each timestamp (ties are ordered by id, not by arrival)."""
    sent = [{"name": name, "external_customer_id": customer, "external_id": f"{prefix}{i}",
             "timestamp": iso(BASE + timedelta(seconds=i // ties)), "metadata": {"n": i}} for i in range(count)]
    for start in range(0, count, 1000):
        response = org.http.post("/v1/events/ingest", json={"events": sent[start:start + 1000]})
        assert response.status_code == 200 and response.json()["inserted"] == len(sent[start:start + 1000])
    return sent


def every_page(org, params: dict, *, by_cursor: bool) -> list[dict]:
    pages, page, cursor = [], 1, None
    while True:
        query = {**params, **({"cursor": cursor} if by_cursor and cursor else {"page": page})}
        body = org.http.get("/v1/events/", params=query).json()
        pages.append(body)
        if by_cursor and body["pagination"]["next_cursor"] is None:
            break
        if not by_cursor and body["pagination"]["max_page"] <= page:  # how polar-sdk pages
            break
        page, cursor = page + 1, body["pagination"]["next_cursor"]
        assert len(pages) < 100
    return [event for body in pages for event in body["items"]]


def order_key(event: dict) -> tuple[str, str]:
    return event["timestamp"], event["id"]


@pytest.mark.parametrize("by_cursor", [True, False])
def test_every_event_once_newest_first_across_pages_with_ties(org, by_cursor) -> None:
    ingest(org, "lister", 137, ties=3)
    ingest(org, "someone-else", 20, prefix="s")
    listed = every_page(org, {"external_customer_id": "lister", "limit": 10}, by_cursor=by_cursor)
    assert len(listed) == 137 and len({e["id"] for e in listed}) == 137
    assert [order_key(e) for e in listed] == sorted(map(order_key, listed), reverse=True)
    assert {e["external_customer_id"] for e in listed} == {"lister"}


def test_oldest_first_a_time_range_and_a_name(org) -> None:
    ingest(org, "ranged", 60, name="call")
    ingest(org, "ranged", 10, prefix="o", name="other")
    start, end = iso(BASE + timedelta(seconds=10)), iso(BASE + timedelta(seconds=30))
    listed = every_page(org, {"external_customer_id": "ranged", "limit": 7, "sorting": "timestamp", "name": "call",
                              "start_timestamp": start, "end_timestamp": end}, by_cursor=True)
    # [start, end): seconds 10..29, `call` events only (the `other` ones share seconds 0..9 and 10... are left out)
    assert [e["metadata"]["n"] for e in listed] == list(range(10, 30))


def test_a_meter_filter_reads_on_until_the_page_is_full(org) -> None:
    meter_id = create_meter(org, "odd", {"func": "count"}, [{"property": "n", "operator": "eq", "value": 7}])
    ingest(org, "filtered", 50)
    body = org.http.get("/v1/events/", params={"external_customer_id": "filtered", "meter_id": meter_id}).json()
    assert [e["metadata"]["n"] for e in body["items"]] == [7]
    assert body["pagination"] == {"total_count": 1, "max_page": 1, "next_cursor": None}


def test_pagination_says_one_more_page_while_there_is_one(org) -> None:
    ingest(org, "counted", 25)
    first = org.http.get("/v1/events/", params={"external_customer_id": "counted", "limit": 10}).json()
    assert (first["pagination"]["total_count"], first["pagination"]["max_page"]) == (11, 2)
    third = org.http.get("/v1/events/", params={"external_customer_id": "counted", "limit": 10, "page": 3}).json()
    assert len(third["items"]) == 5
    assert third["pagination"] == {"total_count": 25, "max_page": 3, "next_cursor": None}


def test_a_bad_cursor_is_a_422_naming_it(org) -> None:
    ingest(org, "cursed", 1)
    for cursor in ("not-a-cursor", "bm9uZQ"):  # the second is base64 of "none": one part, not two
        response = org.http.get("/v1/events/", params={"external_customer_id": "cursed", "cursor": cursor})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_an_unknown_customer_lists_nothing(org) -> None:
    body = org.http.get("/v1/events/", params={"external_customer_id": "nobody"}).json()
    assert body == {"items": [], "pagination": {"total_count": 0, "max_page": 1, "next_cursor": None}}
