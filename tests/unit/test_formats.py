"""Batch-file parsing and the id of a line without external_id. Pure."""

from __future__ import annotations

import io

from functions.bulk.formats import line_external_id, records


def test_csv_numbers_are_typed_and_a_number_a_double_cannot_hold_is_refused_not_rounded() -> None:
    text = io.StringIO("name,metadata.v\nx,0.1\nx,1234567.12345678901\nx,12\n")
    found = list(records("csv", text))
    assert [r.event["metadata"]["v"] if r.event else None for r in found] == [0.1, None, 12]
    assert found[1].number == 3 and "metadata.v" in (found[1].error or "")


def test_line_ids_follow_content_not_version() -> None:
    first = line_external_id("org", "incoming/org/a.ndjson", "etag-1", 7)
    assert first == line_external_id("org", "incoming/org/a.ndjson", "etag-1", 7)  # same bytes again
    assert first != line_external_id("org", "incoming/org/a.ndjson", "etag-2", 7)  # changed content
    assert first != line_external_id("org", "incoming/org/b.ndjson", "etag-1", 7)
    assert first != line_external_id("org", "incoming/org/a.ndjson", "etag-1", 8)
    assert first != line_external_id("other", "incoming/org/a.ndjson", "etag-1", 7)
    assert len(first) <= 256
