"""Bulk ingestion from S3 (moto) into DynamoDB Local through the real handler."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest

from local_stack.stack import s3_record
from tests.conftest import invoke
from tests.integration.conftest import audit_is_clean, create_meter
from tests.oracle import meter_value


def put(local_aws, key: str, body: bytes) -> dict:
    """Puts a batch file; returns the S3 notification record S3 sends for it."""
    response = local_aws.client("s3").put_object(Bucket=local_aws.batch_bucket, Key=key, Body=body)
    return s3_record(local_aws.batch_bucket, key, len(body), response["ETag"].strip('"'), response.get("VersionId"))


def result_of(local_stack, key: str, timeout: float = 300, version: str | None = None) -> dict:
    """The file's result object once the bulk Lambda, invoked by the bucket's notification, is finished with it
    (with `version`: the result of that version, or ETag in a bucket without versions)."""
    result_key = key.replace("incoming/", "results/", 1) + ".result.json"
    s3 = local_stack.aws.client("s3")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if local_stack.runtime.wait_idle(timeout=1):
            try:
                result = json.loads(s3.get_object(Bucket=local_stack.aws.batch_bucket, Key=result_key)["Body"].read())
            except s3.exceptions.NoSuchKey:
                result = None
            if result and (version is None or result["version"] == version) and local_stack.runtime.wait_idle(0.5):
                return result  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"no result for {key} after {timeout}s")


def upload(local_stack, key: str, body: bytes) -> dict:
    put(local_stack.aws, key, body)
    return result_of(local_stack, key)


@contextmanager
def bulk_timeout(local_stack, seconds: int) -> Iterator[None]:
    """`meterbill dev --bulk-timeout`, for one test."""
    spec = local_stack.runtime.pools[local_stack.function_name("bulk_ingest")].spec
    before, spec.timeout = spec.timeout, seconds
    try:
        yield
    finally:
        spec.timeout = before


def read_json(local_aws, key: str) -> dict:
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    return json.loads(s3.get_object(Bucket=local_aws.batch_bucket, Key=key)["Body"].read())


def rejects(local_aws, prefix: str) -> list[dict]:
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
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
def test_each_format_plain_and_gzip(org, local_aws, local_stack, kind, gz, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    body = encode(kind, events(250))
    key = f"incoming/{org.id}/upload.{kind}" + (".gz" if gz else "")
    result = upload(local_stack, key, gzip.compress(body) if gz else body)
    assert (result["status"], result["inserted"], result["duplicates"], result["rejected"]) == ("done", 250, 0, 0)
    assert meter_value(org.http, "bulk-co", meter_id) == sum(range(1, 251))
    stored = read_json(local_aws, key.replace("incoming/", "results/", 1) + ".result.json")
    assert stored["inserted"] == 250 and stored["seconds"] > 0
    audit_is_clean(org.id, tmp_path)


def test_content_is_detected_without_a_suffix(org, local_stack) -> None:
    result = upload(local_stack, f"incoming/{org.id}/export-without-suffix", gzip.compress(encode("ndjson",
                                                                                                  events(3))))
    assert (result["status"], result["inserted"]) == ("done", 3)


def test_bad_lines_are_rejected_with_line_numbers_and_good_lines_go_in(org, local_aws, local_stack) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    lines = [json.dumps(e) for e in events(5, "mixed")]
    lines.insert(1, "{not json")
    lines.insert(3, json.dumps({"name": "", "external_customer_id": "mixed"}))
    lines.insert(4, json.dumps({"name": "x", "customer_id": "no-such-customer"}))
    lines.insert(6, "[1, 2]")
    lines.insert(7, "")  # blank lines are skipped, not rejected
    result = upload(local_stack, f"incoming/{org.id}/mixed.ndjson", ("\n".join(lines) + "\n").encode())
    assert (result["inserted"], result["rejected"]) == (5, 4)
    found = rejects(local_aws, result["rejects_prefix"])
    assert [r["line"] for r in found] == [2, 4, 5, 7]
    assert "invalid JSON" in found[0]["reason"] and "name" in found[1]["reason"]
    assert found[2]["reason"] == "customer not found" and found[3]["reason"] == "not a JSON object"
    assert meter_value(org.http, "mixed", meter_id) == 15


def test_same_notification_twice_counts_once(org, local_aws, local_stack) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    key = f"incoming/{org.id}/twice.ndjson"
    record = put(local_aws, key, encode("ndjson", events(40, "twice")))
    assert result_of(local_stack, key)["inserted"] == 40
    again = invoke("bulk_ingest", {"Records": [record]})["files"][0]  # S3 delivers at least once
    assert again["skipped"] and again["status"] == "done"
    assert meter_value(org.http, "twice", meter_id) == sum(range(1, 41))


def test_a_long_file_continues_in_fresh_invocations(org, local_stack, slow_dynamodb, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    key = f"incoming/{org.id}/long.ndjson.gz"
    # 50 ms a DynamoDB call: a batch of 1,000 rows takes longer than a second whatever the machine, so 4 s with
    # 1 s kept back holds at most two batches (the next must fit twice in what is left).
    slow_dynamodb(local_stack.stack.functions[local_stack.function_name("bulk_ingest")].role, 0.05)
    with bulk_timeout(local_stack, 4):
        result = upload(local_stack, key, gzip.compress(encode("ndjson", events(8000, "long"))))
    # A batch cut by the timeout is counted again by the retry as duplicates: nothing twice, nothing lost.
    assert (result["status"], result["inserted"] + result["duplicates"], result["line"]) == ("done", 8000, 8000)
    assert result["segment"] >= 3, result  # the invocations that worked on it: Lambda's own path, self-invoked
    assert meter_value(org.http, "long", meter_id) == sum(range(1, 8001))
    audit_is_clean(org.id, tmp_path)


def test_a_run_killed_mid_file_is_resumed_by_lambdas_retry(org, local_stack, edge_hooks, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    bulk = local_stack.function_name("bulk_ingest")
    role = local_stack.stack.functions[bulk].role
    seen = {"n": 0}

    def kill_after_second_batch(when: str, principal: str, service: str, operation: str):
        if principal == role and operation == "TransactWriteItems" and when == "after":
            seen["n"] += 1
            if seen["n"] == 2:
                local_stack.runtime.pools[bulk].kill_running()  # SIGKILL: no handler code runs after this

    edge_hooks.append(kill_after_second_batch)
    # The retry comes 6 s after the kill (Lambda's first delay is a minute): a lease outlives its run by 2 s, so a
    # retry sooner than that would find the dead run's lease past its own deadline and leave (busy), which AWS's
    # delays never allow; the suite's usual scale (1.2 s) compresses the timeline below that margin.
    before, local_stack.runtime.retry_delay_scale = local_stack.runtime.retry_delay_scale, 0.1
    try:
        with bulk_timeout(local_stack, 20):  # the dead run's lease ends with its deadline; the retry waits it out
            result = upload(local_stack, f"incoming/{org.id}/killed.ndjson",
                            encode("ndjson", events(3000, "killed")))
    finally:
        local_stack.runtime.retry_delay_scale = before
    assert seen["n"] >= 3
    assert (result["status"], result["inserted"] + result["duplicates"]) == ("done", 3000), result
    assert meter_value(org.http, "killed", meter_id) == sum(range(1, 3001))
    audit_is_clean(org.id, tmp_path)


def test_a_file_that_fails_every_retry_lands_in_the_failure_queue_and_says_failed(org, local_stack,
                                                                                  edge_hooks) -> None:
    bulk = local_stack.function_name("bulk_ingest")
    spec = local_stack.stack.functions[bulk]
    key = f"incoming/{org.id}/doomed.ndjson"

    def s3_is_down_for_reads(when: str, principal: str, service: str, operation: str):
        if when == "before" and principal == spec.role and service == "s3" and operation == "GET":
            return 503, {"Content-Type": "application/xml"}, b"<Error><Code>SlowDown</Code></Error>"
        return None

    edge_hooks.append(s3_is_down_for_reads)
    result = upload(local_stack, key, encode("ndjson", events(10, "doomed")))
    assert result["status"] == "failed" and "SlowDown" in result["reason"], result
    queue = spec.on_failure.rsplit(":", 1)[1]
    sqs = local_stack.aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=local_stack.aws.queue_url(queue), MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
    records = [json.loads(m["Body"]) for m in messages]
    mine = [r for r in records if r["requestPayload"]["Records"][0]["s3"]["object"]["key"] == key]
    assert len(mine) == 1 and mine[0]["requestContext"]["condition"] == "RetriesExhausted"
    assert mine[0]["requestContext"]["approximateInvokeCount"] == 1 + spec.max_retries
    assert mine[0]["responsePayload"]["errorType"] == "ClientError"


def test_unsupported_and_oversized_files_are_rejected_whole(org, local_aws, local_stack) -> None:
    result = upload(local_stack, f"incoming/{org.id}/picture.png", b"\x89PNG\r\n\x1a\n....")
    assert result["status"] == "rejected" and "not NDJSON, CSV or a JSON array" in result["reason"]
    # What S3 would announce for a 3 GiB object (refused before a byte is read, so none is put here).
    record = s3_record(local_aws.batch_bucket, f"incoming/{org.id}/huge.ndjson", 3 * 1024**3, "0" * 32, None)
    big = invoke("bulk_ingest", {"Records": [record]})["files"][0]
    assert big["status"] == "rejected" and "limit" in big["reason"]
    stray = upload(local_stack, "incoming/not-an-org/x.ndjson", b"{}\n")
    assert stray["status"] == "rejected" and "organization" in stray["reason"]


def half_without_ids(n: int, customer: str) -> bytes:
    rows = [{"name": "upload", "external_customer_id": customer, "metadata": {"bytes": i + 1},
             **({"external_id": f"{customer}-{i}"} if i % 2 else {})} for i in range(n)]
    return encode("ndjson", rows)


def version_of(record: dict) -> str:
    obj = record["s3"]["object"]
    return obj.get("versionId") or obj["eTag"]


def test_same_bytes_put_again_under_the_same_key_count_once_in_a_versioned_bucket(org, local_aws, local_stack,
                                                                                 tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    key = f"incoming/{org.id}/again.ndjson"
    body = half_without_ids(400, "again")
    first = put(local_aws, key, body)
    assert result_of(local_stack, key, version=version_of(first))["inserted"] == 400
    second = put(local_aws, key, body)
    versions = [r["s3"]["object"].get("versionId") for r in (first, second)]
    assert None not in versions and versions[0] != versions[1]  # the stack's batch bucket is versioned
    again = result_of(local_stack, key, version=version_of(second))
    assert (again["status"], again["inserted"], again["duplicates"]) == ("done", 0, 400)
    assert meter_value(org.http, "again", meter_id) == sum(range(1, 401))
    # Changed content under the same key is a new file: its lines are new events.
    third = put(local_aws, key, body + encode("ndjson", events(1, "again")))
    changed = result_of(local_stack, key, version=version_of(third))
    assert (changed["inserted"], changed["duplicates"]) == (201, 200)
    assert meter_value(org.http, "again", meter_id) == sum(range(1, 401)) + sum(range(1, 401, 2)) + 1
    audit_is_clean(org.id, tmp_path)


@contextmanager
def without_versions(local_stack) -> Iterator[None]:
    """The batch bucket with versioning suspended: objects get no version id, notifications carry none."""
    s3, bucket = local_stack.aws.client("s3"), local_stack.aws.batch_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    try:
        yield
    finally:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def test_unversioned_bucket_reads_by_etag_and_counts_the_same_bytes_once(org, local_aws, local_stack) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    key = f"incoming/{org.id}/plain.ndjson"
    body = half_without_ids(100, "plain")
    with without_versions(local_stack):
        first = put(local_aws, key, body)
        assert "versionId" not in first["s3"]["object"]
        done = result_of(local_stack, key, version=version_of(first))
        assert (done["status"], done["inserted"]) == ("done", 100)
        again = invoke("bulk_ingest", {"Records": [put(local_aws, key, body)]})["files"][0]
        assert again["skipped"]  # same bytes: same ETag, the finished file is not read again
        assert meter_value(org.http, "plain", meter_id) == sum(range(1, 101))
        # The notified content was overwritten before it was read: it is not read, nor mistaken for the new one.
        local_stack.notifications_held.set()
        try:
            stale = put(local_aws, key, body + encode("ndjson", events(1, "plain")))
            fresh = put(local_aws, key, body + encode("ndjson", events(2, "plain")))
        finally:
            local_stack.notifications_held.clear()
        result_of(local_stack, key, version=version_of(fresh))
        assert invoke("bulk_ingest", {"Records": [stale]})["files"][0]["status"] == "superseded"
    # The new content is a new file: its lines without an external_id are new events (the 50 even lines'
    # bytes, 1 + 3 + ... + 99), as are its two added lines (1 + 2); the stale content counted nothing.
    assert meter_value(org.http, "plain", meter_id) == sum(range(1, 101)) + sum(range(1, 101, 2)) + 1 + 2
