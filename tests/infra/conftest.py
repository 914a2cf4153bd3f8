from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".build"
# What the build's output depends on besides functions/ (whose copy the tests do not inspect).
BUILD_INPUTS = ("Makefile", "requirements/lambda.txt", "infra/slim_botocore.py")


def _stale() -> bool:
    layer = BUILD / "layer"
    return not layer.is_dir() or any((ROOT / f).stat().st_mtime > BUILD.stat().st_mtime for f in BUILD_INPUTS)


@pytest.fixture(scope="session")
def built() -> Path:
    """`.build` as `make build` makes it today: built again when missing or older than how it is made. Under
    a lock: `make test` runs two xdist workers, and one must not delete .build while the other reads it."""
    if _stale():
        lock_path = Path(tempfile.gettempdir()) / f"meterbill-build-{hashlib.sha256(bytes(ROOT)).hexdigest()[:12]}.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _stale():  # the other worker may have built it meanwhile
                subprocess.run(["make", "build"], cwd=ROOT, check=True)
    return BUILD


@pytest.fixture(scope="session")
def synthesized(built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The stack as `cdk synth` makes it (app.py with cdk-nag), written to a temporary cloud assembly."""
    out = tmp_path_factory.mktemp("cdk.out")
    env = {**os.environ, "CDK_OUTDIR": str(out), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True)
    return json.loads((out / "Meterbill.template.json").read_text()), out


@pytest.fixture(scope="session")
def template(synthesized: tuple[dict, Path]):
    from aws_cdk.assertions import Template

    return Template.from_json(synthesized[0])
