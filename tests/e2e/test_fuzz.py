"""Schemathesis fuzzes the published OpenAPI document: no request may produce a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_openapi_fuzzing_finds_no_server_error(org, api_url) -> None:
    org.http.post("/v1/events/ingest", json={"events": [{"name": "seed", "external_customer_id": "fuzz"}]})
    st = shutil.which("st") or str(Path(sys.executable).parent / "st")
    result = subprocess.run(
        [st, "run", f"{api_url}/openapi.json", "-H", f"Authorization: Bearer {org.token}",
         "--checks", "not_a_server_error", "--max-examples", "3", "--workers", "2", "--seed", "7"],
        capture_output=True, text=True, timeout=600,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "failures" not in summary
