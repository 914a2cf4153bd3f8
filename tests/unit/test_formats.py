"""Batch-file parsing and the id of a line without external_id. Pure."""

from __future__ import annotations

import gzip as gz
import io

import pytest

from functions.bulk.formats import Record, UnsupportedFormat, _json_array, detect, line_external_id, open_text, records


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


def parse(key: str, data: bytes) -> tuple[list[Record], str, bool]:
    """What the bulk service does with an object: detect the format from the key and the first bytes, read."""
    kind, gzipped = detect(key, data[:4096])
    return list(records(kind, open_text(io.BytesIO(data), gzipped))), kind, gzipped


def test_the_three_formats_plain_or_gzip_by_suffix_or_content() -> None:
    ndjson = b'{"name": "a", "external_customer_id": "c"}\n\n{"name": "b", "external_customer_id": "c"}\n'
    array = b'[{"name": "a", "external_customer_id": "c"}, {"name": "b", "external_customer_id": "c"}]'
    table = b"name,external_customer_id\na,c\nb,c\n"
    for key, data, kind in (("x.ndjson", ndjson, "ndjson"), ("x.json", array, "json"), ("x.csv", table, "csv"),
                            ("noext", ndjson, "ndjson"), ("noext", array, "json"), ("noext", table, "csv")):
        for packed, gzipped in ((data, False), (gz.compress(data), True)):
            name = key + ".gz" if gzipped and key != "noext" else key
            found, detected, was_gzip = parse(name, packed)
            assert (detected, was_gzip) == (kind, gzipped), name
            assert [r.event["name"] if r.event else None for r in found] == ["a", "b"], name


def test_bad_lines_are_reported_by_number_and_the_rest_kept() -> None:
    found, _, _ = parse("x.ndjson", b'{"name": "a"}\nnot json\n[1]\n{"name": "d"}\n')
    assert [(r.number, r.event is not None) for r in found] == [(1, True), (2, False), (3, False), (4, True)]
    assert "invalid JSON" in (found[1].error or "") and found[2].error == "not a JSON object"


def test_a_lone_surrogate_escape_is_a_bad_line_in_either_json_format() -> None:
    """Python's json reads it into a string no store can hold; the line is refused, the others kept."""
    lines = (b'{"name": "a"}\n{"name": "b", "metadata": {"k": "\\ud800"}}\n'
             b'{"name": "c", "metadata": {"k": "\\ud83d\\ude00"}}\n')
    found, _, _ = parse("x.ndjson", lines)
    assert [(r.number, r.event is not None) for r in found] == [(1, True), (2, False), (3, True)]
    assert "escape without its pair" in (found[1].error or "") and found[2].event["metadata"]["k"] == "\U0001f600"
    array = list(_json_array(io.StringIO('[{"name": "a"}, {"name": "\\udfff"}, {"name": "c"}]')))
    assert [(r.number, r.event is not None) for r in array] == [(1, True), (2, False), (3, True)]


@pytest.mark.parametrize(("kind", "text", "after", "lines"), [
    ("ndjson", '{"name": "e1"}\nnot json\n{"name": "e3"}\n{"name": "e4"}\n', 2, [3, 4]),
    ("csv", "name\ne1\nx,y\ne3\ne4\n", 3, [4, 5]),  # the header is line 1
    ("json", '[{"name": "e1"}, 7, {"name": "e3"}, {"name": "e4"}]', 2, [3, 4]),
])
def test_a_resumed_file_starts_after_its_checkpoint_without_parsing_the_lines_before(
        kind: str, text: str, after: int, lines: list[int]) -> None:
    """Lines before the checkpoint are read past: even a bad one there is not reported again."""
    found = [(r.number, r.event["name"] if r.event else None) for r in records(kind, io.StringIO(text), after=after)]
    assert found == list(zip(lines, ["e3", "e4"], strict=True))


def test_a_json_array_is_read_element_by_element_across_chunks() -> None:
    body = "[" + ", ".join(f'{{"name": "e{i}", "metadata": {{"pad": "{"x" * 50}"}}}}' for i in range(200)) + "]"
    found = list(_json_array(io.StringIO(body), chunk_size=64))
    assert [r.event["name"] if r.event else None for r in found] == [f"e{i}" for i in range(200)]


def test_csv_metadata_columns_and_an_unknown_column_refuses_the_file() -> None:
    found = list(records("csv", io.StringIO("name,metadata.model,metadata.tokens\na,gpt,12\n")))
    assert found[0].event == {"name": "a", "metadata": {"model": "gpt", "tokens": 12}}
    with pytest.raises(UnsupportedFormat):
        list(records("csv", io.StringIO("name,colour\na,red\n")))
