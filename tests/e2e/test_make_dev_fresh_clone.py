"""`make dev` exactly as the README says, in a fresh clone: it installs, starts, serves, stops on Ctrl-C, refuses a
taken port in one line, and comes back on another port (`make dev PORT=N`) with its data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from local_stack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
UP = "Meterbill local stack is up"


def make_dev(clone: Path, *variables: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "AWS_", "TABLE_NAME",
                                                                      "BATCH_BUCKET", "INVOICE_BUCKET",
                                                                      "EVENT_BUS_NAME", "PYTHONPATH"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    # Its own process group, as a terminal's foreground job: Ctrl-C reaches make and the stack together.
    return subprocess.Popen(["make", "dev", *variables], cwd=clone, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(process: subprocess.Popen, text: str, timeout: float) -> list[str]:
    """Reads the process's output on a thread until it ends; returns the lines once `text` was printed."""
    assert process.stdout is not None
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if text in line:
                found.set()
        found.set()  # ended without it: the assertion below shows the output

    threading.Thread(target=read, daemon=True).start()
    found.wait(timeout)
    assert any(text in line for line in seen), f"no {text!r} within {timeout}s; output:\n{''.join(seen)[-5000:]}"
    return seen


def ctrl_c(process: subprocess.Popen, output: list[str]) -> str:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    time.sleep(0.5)  # the reader thread takes the last lines
    return "".join(output)


def test_make_dev_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "meterbill"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    first = make_dev(clone)
    output: list[str] = []
    try:
        output = wait_for(first, UP, timeout=900)  # a fresh clone: .venv, npm, the Lambda build, the template
        state = json.loads((clone / ".meterbill" / "local.json").read_text())  # the default, relative state dir
        assert state["api_url"] == "http://127.0.0.1:3000"
        headers = {"Authorization": f"Bearer {state['token']}"}
        organization = f"{state['api_url']}/v1/organizations/{state['organization_id']}"
        assert httpx.get(organization).status_code == 401
        assert httpx.get(organization, headers=headers, timeout=60).status_code == 200
        ingest = httpx.post(f"{state['api_url']}/v1/events/ingest", headers=headers, timeout=60, json={"events": [
            {"name": "call", "external_customer_id": "kept", "external_id": "kept-1"}]})
        assert ingest.json() == {"inserted": 1, "duplicates": 0}
        # The README's `make dev` starts with the demo data: its customer, subscribed, with meters.
        demo = httpx.get(f"{state['api_url']}/v1/customer-meters/", headers=headers, timeout=60,
                         params={"external_customer_id": "demo-customer"}).json()["items"]
        assert len(demo) >= 2 and any(row["consumed_units"] for row in demo), demo
        assert "customer_session_token=" in state["portal_url"]

        # The port is taken (by the first stack): one clear line, no traceback, a non-zero exit.
        second = make_dev(clone)
        out, _ = second.communicate(timeout=300)
        assert second.returncode != 0
        assert "port 3000 is in use" in out and "make dev PORT=" in out and "Traceback" not in out, out
    finally:
        out = ctrl_c(first, output)
    assert "stopped" in out and "Traceback" not in out, out[-3000:]

    port = free_port()
    again = make_dev(clone, f"PORT={port}")
    output = []
    try:
        output = wait_for(again, UP, timeout=300)
        restarted = json.loads((clone / ".meterbill" / "local.json").read_text())
        assert restarted["api_url"] == f"http://127.0.0.1:{port}"
        assert (restarted["organization_id"], restarted["token"]) == (state["organization_id"], state["token"])
        replay = httpx.post(f"{restarted['api_url']}/v1/events/ingest", headers=headers, timeout=60,
                            json={"events": [{"name": "call", "external_customer_id": "kept",
                                              "external_id": "kept-1"}]})
        assert replay.json() == {"inserted": 0, "duplicates": 1}  # the event outlived the restart
    finally:
        ctrl_c(again, output)
    with socket.socket() as sock:  # everything let go of its port
        sock.bind(("127.0.0.1", port))
