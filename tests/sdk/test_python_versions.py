"""The SDK declares Python 3.10 to 3.13 (sdk/pyproject.toml): its unit tests run under each of them here.

3.11 is this test run's own interpreter; 3.10, 3.12 and 3.13 come from pyenv, each with a small venv (httpx and
pytest, pinned by requirements/constraints.txt) made once under .venv/sdk-pythons/ and reused. The unit tests
need no local stack: the fake API stands in (tests/sdk/unit)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OTHER_VERSIONS = ["3.10", "3.12", "3.13"]
PACKAGES = ["httpx", "pytest"]


def interpreter(version: str) -> Path | None:
    pyenv = shutil.which("pyenv")
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip() if pyenv else ""
    candidates = sorted(Path(root or Path.home() / ".pyenv").glob(f"versions/{version}.*/bin/python{version}"))
    return candidates[-1] if candidates else None


def venv_for(version: str, python: Path) -> Path:
    venv = ROOT / ".venv" / "sdk-pythons" / version
    constraints = (ROOT / "requirements" / "constraints.txt").read_text()
    key = hashlib.sha256(f"{python}\n{PACKAGES}\n{constraints}".encode()).hexdigest()
    stamp = venv / ".installed"
    if not stamp.exists() or stamp.read_text() != key:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-c", str(ROOT / "requirements" / "constraints.txt"), *PACKAGES],
                       check=True, timeout=300)
        stamp.write_text(key)
    return venv


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_the_sdk_unit_tests_pass_under(version: str) -> None:
    python = interpreter(version)
    if python is None:
        pytest.fail(f"Python {version} is not installed (pyenv install {version}); sdk/pyproject.toml declares it")
    venv = venv_for(version, python)
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest",
         "tests/sdk/unit"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'sdk'}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    assert f"Python {version}" in subprocess.run([str(venv / "bin" / "python"), "--version"], capture_output=True,
                                                 text=True).stdout
