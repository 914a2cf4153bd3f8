"""Schemathesis over the whole published OpenAPI document, against the real handlers over HTTP.

Every phase the installed Schemathesis has (examples, coverage, fuzzing, stateful), with an organization
token for the organization API and a customer session token for the customer portal's JSON routes (one per
security scheme of the document). The checks: no 5xx (`not_a_server_error`), no status the document does not
list for the operation (`status_code_conformance`), and each body as its documented model says
(`response_schema_conformance`, `content_type_conformance`).

    python -m benchmarks.fuzz_api [--max-examples 40] [--url URL --token T --customer-token C]

Without --url it starts the local stack in memory (as the tests do) and seeds an organization, a customer with
usage and a customer session. tests/e2e/test_fuzz.py runs the same at a small count inside `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PHASES = "examples,coverage,fuzzing,stateful"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
CONFIG = """
[auth.openapi.access_token]
bearer = "${MB_FUZZ_TOKEN}"

[auth.openapi.customer_session]
bearer = "${MB_FUZZ_CUSTOMER_TOKEN}"
"""


@dataclass
class FuzzResult:
    cases: int
    failures: int
    seconds: float
    returncode: int
    max_examples: int
    phases: str
    checks: str
    summary: str


def seed(api_url: str, token: str) -> str:
    """A customer with usage on a meter, and a customer session for the portal routes: returns its token."""
    http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    http.post("/v1/meters/", json={"name": "fuzz calls", "filter": {"conjunction": "and", "clauses": [
        {"property": "name", "operator": "eq", "value": "fuzz"}]}, "aggregation": {"func": "count"}})
    http.post("/v1/events/ingest", json={"events": [{"name": "fuzz", "external_customer_id": "fuzz-customer"}]})
    session = http.post("/v1/customer-sessions/", json={"external_customer_id": "fuzz-customer"})
    session.raise_for_status()
    return str(session.json()["token"])


def run(api_url: str, token: str, customer_token: str, max_examples: int, *, workers: int = 2, seed_value: int = 7,
        phases: str = PHASES, checks: str = CHECKS, timeout: float = 3600, only: str | None = None) -> FuzzResult:
    st = str(Path(sys.executable).parent / "st")
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "schemathesis.toml"
        config.write_text(CONFIG)
        env = {**os.environ, "MB_FUZZ_TOKEN": token, "MB_FUZZ_CUSTOMER_TOKEN": customer_token}
        started = time.monotonic()
        done = subprocess.run(
            [st, "--config-file", str(config), "run", f"{api_url}/openapi.json", "--phases", phases,
             "--checks", checks, "--max-examples", str(max_examples), "--workers", str(workers),
             "--seed", str(seed_value), "--no-color", "--request-timeout", "60",
             *(["--include-path-regex", only] if only else [])],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=work,
        )
        seconds = time.monotonic() - started
    out = done.stdout + done.stderr
    cases = re.search(r"(\d+) generated", out)
    failures = re.search(r"(\d+) unique failures?", out)
    return FuzzResult(cases=int(cases.group(1)) if cases else 0, failures=int(failures.group(1)) if failures else 0,
                      seconds=round(seconds, 1), returncode=done.returncode, max_examples=max_examples,
                      phases=phases, checks=checks, summary=_summary(out))


def _summary(out: str) -> str:
    """The failures in full (each names the check, the response and the schema rule), then the counts; the
    warnings between them are long and never the reason a run failed."""
    start, end = out.find("FAILURES"), out.find("WARNINGS")
    failures = out[start:end][:20_000] if 0 <= start < end else ""
    return failures + out[-3000:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--customer-token")
    parser.add_argument("--only", help="a regular expression: only the paths it matches")
    parser.add_argument("--out", type=Path, help="write the result as JSON")
    args = parser.parse_args()
    if args.url:
        result = run(args.url, args.token, args.customer_token or seed(args.url, args.token), args.max_examples,
                     workers=args.workers, seed_value=args.seed, only=args.only)
    else:
        from local_stack.stack import LocalStack, Options

        stack = LocalStack(None, Options(retry_delay_scale=0.02, schedule_seconds=24 * 3600)).start()
        try:
            from functions.organizations.service import create_organization

            org = create_organization("fuzz")
            result = run(stack.api_url, org.token, seed(stack.api_url, org.token), args.max_examples,
                         workers=args.workers, seed_value=args.seed, only=args.only)
        finally:
            stack.stop()
    print(result.summary)
    print(json.dumps({k: v for k, v in asdict(result).items() if k != "summary"}))
    if args.out:
        args.out.write_text(json.dumps(asdict(result), indent=2))
    sys.exit(0 if result.returncode == 0 else 1)


if __name__ == "__main__":
    main()
