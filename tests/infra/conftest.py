from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
@pytest.fixture(scope="session")
def built() -> Path:
    """`.build` as `make build` makes it today (one lock with the local stack's own build: local_stack.template)."""
    from local_stack.template import ensure_built

    return ensure_built()


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
