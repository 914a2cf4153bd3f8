"""The meter item and the Meter entity: attributes are the field names, and items of older shapes still read."""

from __future__ import annotations

from functions.store.codec import entity_from_item, entity_item
from functions.store.entities import Meter

FILTER = {"conjunction": "or", "clauses": [{"property": "name", "operator": "eq", "value": "api"},
                                          {"conjunction": "and", "clauses": [
                                              {"property": "tokens", "operator": "gte", "value": 10}]}]}


def test_a_meter_reads_back_as_it_was_written() -> None:
    meter = Meter(id="m1", organization_id="org", seq=7, name="tokens", filter=FILTER,
                  aggregation={"func": "sum", "property": "tokens"}, created_at="2026-11-01T00:00:00Z",
                  unit="custom", custom_label="credits", custom_multiplier=1000, metadata={"tier": "pro", "n": 2},
                  thresholds=[{"id": "t1", "type": "units", "value": 1.5}], backfill_pending=True,
                  modified_at="2026-11-02T00:00:00Z", archived_at="2026-11-03T00:00:00Z")
    assert entity_from_item(Meter, entity_item(meter)) == meter


def test_an_older_item_reads_with_defaults_and_keys_or_unknown_attributes_are_ignored() -> None:
    item = {"PK": {"S": "ORG#org"}, "SK": {"S": "METER#m1"}, "GSI1PK": {"S": "BACKFILL"}, "GSI1SK": {"S": "x"},
            "id": {"S": "m1"}, "organization_id": {"S": "org"}, "seq": {"N": "3"}, "name": {"S": "calls"},
            "filter": {"M": {"conjunction": {"S": "and"}, "clauses": {"L": []}}},
            "aggregation": {"M": {"func": {"S": "count"}}}, "created_at": {"S": "2026-10-01T00:00:00Z"},
            "retired_attribute": {"S": "whatever"}}
    assert entity_from_item(Meter, item) == Meter(
        id="m1", organization_id="org", seq=3, name="calls", filter={"conjunction": "and", "clauses": []},
        aggregation={"func": "count"}, created_at="2026-10-01T00:00:00Z", unit="scalar", custom_label=None,
        custom_multiplier=None, metadata={}, thresholds=[], backfill_pending=False, modified_at=None, archived_at=None)


def test_absent_values_are_not_written() -> None:
    meter = Meter(id="m1", organization_id="org", seq=1, name="calls", filter={"conjunction": "and", "clauses": []},
                  aggregation={"func": "count"}, created_at="2026-10-01T00:00:00Z")
    assert not {"custom_label", "custom_multiplier", "modified_at", "archived_at"} & set(entity_item(meter))
