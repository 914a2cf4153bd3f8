"""The `meterbill` command as a user runs it (a subprocess) against a running stack: exit codes, messages,
the rejects file and the meters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import create_meter
from tests.oracle import meter_value

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack_dir(tmp_path: Path, org, local_aws) -> Path:
    """A state directory describing the test session's stack (what `meterbill dev` writes), for `org`."""
    state = {"api_url": str(org.http.base_url).rstrip("/"), "organization_id": org.id, "token": org.token,
             "dynamodb_endpoint": local_aws.dynamodb_endpoint, "moto_endpoint": local_aws.moto_endpoint,
             "batch_bucket": local_aws.batch_bucket}
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "local.json").write_text(json.dumps(state))
    return directory


def meterbill(state_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TABLE_NAME"}  # as a user's shell: only the state file
    return subprocess.run([sys.executable, "-m", "local_stack.cli", "--state-dir", str(state_dir), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def good(i: int, customer: str = "cli-co", **extra) -> str:
    return json.dumps({"name": "upload", "external_customer_id": customer, "metadata": {"bytes": i}, **extra})


def test_bad_lines_are_refused_alone_with_their_line_number_and_good_lines_go_in(org, stack_dir, tmp_path) -> None:
    meter_id = create_meter(org, "bytes", {"func": "sum", "property": "bytes"})
    lines = [good(i) for i in range(1, 2501)]
    # 1-based line numbers in the file; the bad ones sit in different 1,000-event batches.
    bad = {
        5: "{not json",
        6: "[1, 2]",
        1200: json.dumps({"name": "", "external_customer_id": "cli-co"}),
        2001: json.dumps({"name": "x", "customer_id": "no-such-customer"}),
        2002: json.dumps({"name": "x", "external_customer_id": "cli-co", "metadata": {"bytes": 1e99}}),
    }
    for number, text in bad.items():
        lines[number - 1] = text
    lines.insert(100, "")  # a blank line is skipped, not refused (and shifts the numbers after it)
    bad = {(n + 1 if n > 100 else n): text for n, text in bad.items()}
    path = tmp_path / "usage.ndjson"
    path.write_text("\n".join(lines) + "\n")

    done = meterbill(stack_dir, "ingest", str(path))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout) == {"inserted": 2495, "duplicates": 0, "rejected": 5}
    rejects = [json.loads(line) for line in (tmp_path / "usage.ndjson.rejects.ndjson").read_text().splitlines()]
    assert [r["line"] for r in rejects] == sorted(bad)
    reasons = {r["line"]: r["reason"] for r in rejects}
    assert "invalid JSON" in reasons[5] and "not a JSON object" in reasons[6]
    assert "name" in reasons[1201] and "customer not found" in reasons[2002]
    assert "metadata" in reasons[2003] and "bytes" in reasons[2003]
    for number in bad:
        assert f"line {number}:" in done.stderr
    good_total = sum(i for i in range(1, 2501) if i not in (5, 6, 1200, 2001, 2002))
    assert meter_value(org.http, "cli-co", meter_id) == good_total

    # The same file again: lines without an external_id get one from the file's content and line number,
    # so nothing counts twice; the refusals are the same.
    again = meterbill(stack_dir, "ingest", str(path), "--rejects", str(tmp_path / "elsewhere.ndjson"))
    assert again.returncode == 1
    assert json.loads(again.stdout) == {"inserted": 0, "duplicates": 2495, "rejected": 5}
    assert len((tmp_path / "elsewhere.ndjson").read_text().splitlines()) == 5
    assert meter_value(org.http, "cli-co", meter_id) == good_total


def test_a_clean_file_exits_0_and_leaves_no_rejects_file(org, stack_dir, tmp_path) -> None:
    path = tmp_path / "clean.csv"
    path.write_text("name,external_customer_id,metadata.bytes\n" + "".join(f"up,clean,{i}\n" for i in range(30)))
    done = meterbill(stack_dir, "ingest", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"inserted": 30, "duplicates": 0, "rejected": 0}
    assert not (tmp_path / "clean.csv.rejects.ndjson").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ingest", "/no/such/file.ndjson"], "no such file"),
        (["close-cycles", "--as-of", "yesterday-ish"], "--as-of"),
        (["audit", "--org", "not-an-org"], "not-an-org"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(stack_dir, args, fragment) -> None:
    done = meterbill(stack_dir, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert fragment in done.stderr
    assert "difference" not in done.stdout


def test_no_stack_running_is_one_line_and_exit_2(tmp_path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text(good(1) + "\n")
    done = meterbill(tmp_path / "nothing-here", "ingest", str(path))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "no running local stack" in done.stderr


def test_unsupported_file_is_a_usage_error(stack_dir, tmp_path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n....")
    done = meterbill(stack_dir, "ingest", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not NDJSON, CSV or a JSON array" in done.stderr
