"""`meterbill dev`: start everything on loopback and keep it running until Ctrl-C."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.aws import LocalAws, start_moto
from local_stack.dynamodb_local import DynamoDBLocal
from local_stack.ports import free_port

STATE_FILE = "local.json"  # exists while a stack runs
IDENTITY_FILE = "organization.json"  # the local organization and token, kept with the data


@dataclass
class Background:
    """Repeats `action` every `seconds` on a daemon thread until stopped."""

    name: str
    seconds: float
    action: Any
    stop_event: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Background:
        threading.Thread(target=self._run, name=self.name, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self.stop_event.wait(self.seconds):
            try:
                self.action()
            except Exception as exc:  # a failed tick is reported and retried on the next one
                print(f"[{self.name}] {type(exc).__name__}: {exc}", flush=True)

    def stop(self) -> None:
        self.stop_event.set()


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    if not path.exists():
        raise SystemExit(f"no running local stack: {path} is missing (start one with `make dev`)")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def connect(state_dir: Path) -> dict[str, Any]:
    """Point this process at a running local stack (for the CLI's other commands)."""
    state = read_state(state_dir)
    LocalAws(dynamodb_endpoint=state["dynamodb_endpoint"], moto_endpoint=state["moto_endpoint"]).export()
    return state


def _organization(state_dir: Path, in_memory: bool) -> tuple[str, str]:
    from functions.organizations.service import create_organization
    from functions.store import organizations

    identity = state_dir / IDENTITY_FILE
    if not in_memory and identity.exists():
        known = json.loads(identity.read_text())
        if organizations.get(known["organization_id"]):
            return known["organization_id"], known["token"]
    created = create_organization("Local development")
    if not in_memory:
        identity.write_text(json.dumps({"organization_id": created.organization_id, "token": created.token}))
    return created.organization_id, created.token


def run(state_dir: Path, *, port: int, in_memory: bool, demo: bool, cycle_seconds: float) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    dynamodb = DynamoDBLocal(None if in_memory else state_dir / "dynamodb").start()
    moto_server, moto_endpoint = start_moto()
    stopping: list[Any] = []
    try:
        aws = LocalAws(dynamodb_endpoint=dynamodb.endpoint, moto_endpoint=moto_endpoint)
        aws.export()
        aws.create_resources()

        from local_stack.gateway import Gateway
        from local_stack.jobs import close_cycles, watch_batch_bucket

        organization_id, token = _organization(state_dir, in_memory)
        gateway = Gateway(port or free_port())
        threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True).start()
        stopping.append(gateway.shutdown)
        watcher = Background("batch-watcher", 1.0, watch_batch_bucket()).start()
        cycles = Background("cycle-close", cycle_seconds, close_cycles).start()
        stopping += [watcher.stop, cycles.stop]

        state = {
            "api_url": gateway.url,
            "organization_id": organization_id,
            "token": token,
            "dynamodb_endpoint": dynamodb.endpoint,
            "moto_endpoint": moto_endpoint,
            "batch_bucket": aws.batch_bucket,
        }
        if demo:
            from local_stack.demo import load_demo

            state.update(load_demo(gateway.url, token))
        (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
        print(f"Meterbill local stack is up\n  API       {gateway.url}\n  token     {token}", flush=True)
        print(f"  org       {organization_id}\n  state     {state_dir / STATE_FILE}", flush=True)
        if "demo_customer_id" in state:
            print(f"  demo      customer {state['demo_customer_id']} (external id demo-customer)", flush=True)
        if "portal_url" in state:
            print(f"  portal    {state['portal_url']}", flush=True)
        print(
            f'  try       curl -H "Authorization: Bearer {token}" {gateway.url}/v1/organizations/{organization_id}',
            flush=True,
        )
        print("Ctrl-C stops everything.", flush=True)

        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        done.wait()
    finally:
        for stop in reversed(stopping):
            stop()
        moto_server.stop()
        dynamodb.stop()
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        print("stopped", flush=True)
