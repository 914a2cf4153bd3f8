from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".build"
# What the build's output depends on besides functions/ (whose copy the tests do not inspect).
BUILD_INPUTS = ("Makefile", "requirements/lambda.txt", "infra/slim_botocore.py")


@pytest.fixture(scope="session")
def built() -> Path:
    """`.build` as `make build` makes it today: built again when missing or older than how it is made."""
    layer = BUILD / "layer"
    if not layer.is_dir() or any((ROOT / f).stat().st_mtime > BUILD.stat().st_mtime for f in BUILD_INPUTS):
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
