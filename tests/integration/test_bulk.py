"""Bulk ingestion from S3 (moto) into DynamoDB Local through the real handler."""

from __future__ import annotations

import csv
import gzip
import io
import json

import boto3
import pytest

from local_stack.jobs import s3_event
from local_stack.lambda_context import LocalContext
from tests.integration.conftest import audit_is_clean, create_meter
from tests.oracle import meter_value


class Clock:
    """A Lambda context whose remaining time the test controls."""

    def __init__(self, remaining_ms: list[int]) -> None:
        self.remaining = remaining_ms

    def context(self) -> LocalContext:
        context = LocalContext("bulk", timeout_seconds=900)
        remaining = self.remaining
        context.get_remaining_time_in_millis = lambda: remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return context


def put(local_aws, key: str, body: bytes) -> dict:
    s3 = boto3.client("s3", endpoint_url=local_aws.moto_endpoint)
    response = s3.put_object(Bucket=local_aws.batch_bucket, Key=key, Body=body)
    return s3_event(local_aws.batch_bucket, key, len(body), response["ETag"].strip('"'), response.get("VersionId"))


def run(event: dict, context: LocalContext | None = None) -> dict:
    from functions.handlers import bulk_ingest

    return bulk_ingest.handler(event, context or LocalContext("bulk", timeout_seconds=900))["files"][0]


def read_json(local_aws, key: str) -> dict:
    s3 = boto3.client("s3", endpoint_url=local_aws.moto_endpoint)
    return json.loads(s3.get_object(Bucket=local_aws.batch_bucket, Key=key)["Body"].read())


def rejects(local_aws, prefix: str) -> list[dict]:
    s3 = boto3.client("s3", endpoint_url=local_aws.moto_endpoint)
    lines = []
    for obj in s3.list_objects_v2(Bucket=local_aws.batch_bucket, Prefix=prefix + "/").get("Contents", []):
        body = s3.get_object(Bucket=local_aws.batch_bucket, Key=obj["Key"])["Body"].read().decode()
        lines += [json.loads(line) for line in body.splitlines()]
    return sorted(lines, key=lambda r: r["line"])


def events(n: int, customer: str = "bulk-co") -> list[dict]:
    return [{"name": "upload", "external_customer_id": customer, "metadata": {"bytes": i + 1}} for i in range(n)]


def encode(kind: str, rows: list[dict]) -> bytes:
    if kind == "ndjson":
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    if kind == "json":
        return json.dumps(rows).encode()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "external_customer_id", "metadata.bytes"])
    for r in rows:
        writer.writerow([r["name"], r["external_customer_id"], r["metadata"]["bytes"]])
    return out.getvalue().encode()


@pytest.mark.parametrize("kind", ["ndjson", "json", "csv"])
@pytest.mark.parametrize("gz", [False, True])
def test_each_format_plain_and_gzip(org, local_aws, kind, gz, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    body = encode(kind, events(250))
    key = f"incoming/{org.id}/upload.{kind}" + (".gz" if gz else "")
    result = run(put(local_aws, key, gzip.compress(body) if gz else body))
    assert (result["status"], result["inserted"], result["duplicates"], result["rejected"]) == ("done", 250, 0, 0)
    assert meter_value(org.http, "bulk-co", meter_id) == sum(range(1, 251))
    stored = read_json(local_aws, key.replace("incoming/", "results/", 1) + ".result.json")
    assert stored["inserted"] == 250 and stored["seconds"] > 0
    audit_is_clean(org.id, tmp_path)


def test_content_is_detected_without_a_suffix(org, local_aws) -> None:
    result = run(put(local_aws, f"incoming/{org.id}/export-without-suffix", gzip.compress(encode("ndjson",
                                                                                             events(3)))))
    assert (result["status"], result["inserted"]) == ("done", 3)


def test_bad_lines_are_rejected_with_line_numbers_and_good_lines_go_in(org, local_aws) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    lines = [json.dumps(e) for e in events(5, "mixed")]
    lines.insert(1, "{not json")
    lines.insert(3, json.dumps({"name": "", "external_customer_id": "mixed"}))
    lines.insert(4, json.dumps({"name": "x", "customer_id": "no-such-customer"}))
    lines.insert(6, "[1, 2]")
    lines.insert(7, "")  # blank lines are skipped, not rejected
    result = run(put(local_aws, f"incoming/{org.id}/mixed.ndjson", ("\n".join(lines) + "\n").encode()))
    assert (result["inserted"], result["rejected"]) == (5, 4)
    found = rejects(local_aws, result["rejects_prefix"])
    assert [r["line"] for r in found] == [2, 4, 5, 7]
    assert "invalid JSON" in found[0]["reason"] and "name" in found[1]["reason"]
    assert found[2]["reason"] == "customer not found" and found[3]["reason"] == "not a JSON object"
    assert meter_value(org.http, "mixed", meter_id) == 15


def test_same_notification_twice_counts_once(org, local_aws) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    event = put(local_aws, f"incoming/{org.id}/twice.ndjson", encode("ndjson", events(40, "twice")))
    first, second = run(event), run(event)
    assert first["inserted"] == 40 and second["skipped"] and second["status"] == "done"
    assert meter_value(org.http, "twice", meter_id) == sum(range(1, 41))


def test_stopped_mid_file_and_resumed(org, local_aws, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    event = put(local_aws, f"incoming/{org.id}/long.ndjson.gz", gzip.compress(encode("ndjson", events(2500, "long"))))
    # After the first 1,000-line batch the invocation is nearly out of time: it checkpoints and stops.
    stopped = run(event, Clock([10_000]).context())
    assert stopped == {"key": f"incoming/{org.id}/long.ndjson.gz", "status": "incomplete", "line": 1000}
    assert meter_value(org.http, "long", meter_id) == sum(range(1, 1001))
    # A crashed run's lease blocks nobody forever, but a live one is respected.
    assert run(event)["skipped"]
    from functions.store import bulk

    progress_key = bulk.file_key(local_aws.batch_bucket, f"incoming/{org.id}/long.ndjson.gz",
                                 event["Records"][0]["s3"]["object"]["versionId"])
    from functions.store import dynamo

    dynamo.call("update_item", TableName=dynamo.table_name(), Key=progress_key,
                UpdateExpression="SET lease_until = :past", ExpressionAttributeValues={":past": {"S": "2000"}})
    resumed = run(event)
    assert (resumed["status"], resumed["inserted"], resumed["duplicates"], resumed["line"]) == ("done", 2500, 0, 2500)
    assert meter_value(org.http, "long", meter_id) == sum(range(1, 2501))
    audit_is_clean(org.id, tmp_path)


def test_unsupported_and_oversized_files_are_rejected_whole(org, local_aws) -> None:
    result = run(put(local_aws, f"incoming/{org.id}/picture.png", b"\x89PNG\r\n\x1a\n...."))
    assert result["status"] == "rejected" and "not NDJSON, CSV or a JSON array" in result["reason"]
    event = put(local_aws, f"incoming/{org.id}/huge.ndjson", b"{}\n")
    event["Records"][0]["s3"]["object"]["size"] = 3 * 1024**3
    big = run(event)
    assert big["status"] == "rejected" and "limit" in big["reason"]
    stray = run(put(local_aws, "incoming/not-an-org/x.ndjson", b"{}\n"))
    assert stray["status"] == "rejected" and "organization" in stray["reason"]


def half_without_ids(n: int, customer: str) -> bytes:
    rows = [{"name": "upload", "external_customer_id": customer, "metadata": {"bytes": i + 1},
             **({"external_id": f"{customer}-{i}"} if i % 2 else {})} for i in range(n)]
    return encode("ndjson", rows)


def test_same_bytes_put_again_under_the_same_key_count_once_in_a_versioned_bucket(org, local_aws, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    key = f"incoming/{org.id}/again.ndjson"
    body = half_without_ids(400, "again")
    first, second = put(local_aws, key, body), put(local_aws, key, body)
    versions = [e["Records"][0]["s3"]["object"].get("versionId") for e in (first, second)]
    assert None not in versions and versions[0] != versions[1]  # the stack's batch bucket is versioned
    assert run(first)["inserted"] == 400
    again = run(second)
    assert (again["status"], again["inserted"], again["duplicates"]) == ("done", 0, 400)
    assert meter_value(org.http, "again", meter_id) == sum(range(1, 401))
    # Changed content under the same key is a new file: its lines are new events.
    changed = run(put(local_aws, key, body + encode("ndjson", events(1, "again"))))
    assert (changed["inserted"], changed["duplicates"]) == (201, 200)
    assert meter_value(org.http, "again", meter_id) == sum(range(1, 401)) + sum(range(1, 401, 2)) + 1
    audit_is_clean(org.id, tmp_path)


def test_unversioned_bucket_reads_by_etag_and_counts_the_same_bytes_once(org, local_aws) -> None:
    s3 = boto3.client("s3", endpoint_url=local_aws.moto_endpoint)
    bucket = "meterbill-batch-unversioned"
    s3.create_bucket(Bucket=bucket)
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    key = f"incoming/{org.id}/plain.ndjson"
    body = half_without_ids(100, "plain")

    def put_plain(data: bytes) -> dict:
        response = s3.put_object(Bucket=bucket, Key=key, Body=data)
        assert "VersionId" not in response
        return s3_event(bucket, key, len(data), response["ETag"].strip('"'), None)

    first = run(put_plain(body))
    assert (first["status"], first["inserted"]) == ("done", 100)
    assert run(put_plain(body))["skipped"]  # same bytes: same ETag, the finished file is not read again
    assert meter_value(org.http, "plain", meter_id) == sum(range(1, 101))
    # The notified content was overwritten before it was read: it cannot be read, and is not mistaken for the new.
    stale = put_plain(body + encode("ndjson", events(1, "plain")))
    put_plain(body + encode("ndjson", events(2, "plain")))
    assert run(stale)["status"] == "superseded"
    assert meter_value(org.http, "plain", meter_id) == sum(range(1, 101))
