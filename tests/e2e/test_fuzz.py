"""Schemathesis over the whole published OpenAPI document (both security schemes), a small count:
no 5xx, no undocumented status, every body as documented. benchmarks/fuzz_api.py runs it at full count."""

from __future__ import annotations

from benchmarks.fuzz_api import run, seed


def test_openapi_fuzzing_finds_no_server_error_and_no_undocumented_status(org, api_url) -> None:
    # The coverage phase alone is about 2,300 cases (5 minutes here): it runs in the benchmark, not in make test.
    result = run(api_url, org.token, seed(api_url, org.token), max_examples=4, phases="examples,fuzzing,stateful",
                 timeout=600)
    assert result.returncode == 0 and result.failures == 0, result.summary
    assert result.cases >= 150, result.summary
