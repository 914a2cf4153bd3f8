"""The whole local stack: local AWS (local_stack/aws.py), the Lambda runtime, the API gateway, S3 notifications
and schedules, all from the synthesized template. `meterbill dev` runs it in the foreground; tests and benchmarks
start the same thing in-process.
"""

from __future__ import annotations

import errno
import json
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack import template
from local_stack.aws import LocalAws
from local_stack.runtime import LambdaRuntime, Outcome
from local_stack.template import ACCOUNT, REGION, Stack

STATE_FILE = "local.json"  # exists while a stack runs
STOP_SECONDS = 30
IDENTITY_FILE = "organization.json"  # the local organization and token, kept with the data


class PortInUse(Exception):
    pass


@dataclass
class Options:
    port: int = 0  # 0: any free port
    bulk_timeout: int | None = None  # seconds: overrides the bulk function's timeout
    retry_delay_scale: float = 1.0  # Lambda's async retry delays (1 and 2 minutes) times this
    schedule_seconds: float | None = None  # overrides every schedule's rate
    notification_seconds: float = 0.5  # how often buckets are looked at for new objects
    max_environments: int = 8  # execution environments per function (Lambda would scale further)


@dataclass
class LocalStack:
    state_dir: Path | None
    options: Options = field(default_factory=Options)
    stack: Stack | None = None
    aws: LocalAws | None = None
    runtime: LambdaRuntime | None = None
    gateway: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)
    # Set: S3 notifications are held back (tests: S3 delivers them asynchronously, sometimes late).
    notifications_held: threading.Event = field(default_factory=threading.Event)

    def start(self, aws: LocalAws | None = None) -> LocalStack:
        """Starts everything, or the Lambda side only on top of a running `aws` (benchmarks)."""
        from local_stack.gateway import Gateway

        gateway_socket = _bind(self.options.port)  # first: a taken port is the first thing a user learns
        self.stack = aws.stack if aws else template.load()
        self.aws = aws or LocalAws(self.stack, self.state_dir).start()
        self.aws.export()
        bulk = next((n.function for n in self.stack.notifications), None)
        url = f"http://127.0.0.1:{gateway_socket.getsockname()[1]}"
        self.runtime = LambdaRuntime(
            self.stack,
            base_env=_base_environment(),
            edge_endpoint=self.aws.endpoint,
            overrides={name: {"PUBLIC_URL": url} for name, spec in self.stack.functions.items()
                       if "PUBLIC_URL" in spec.environment},
            timeouts={bulk: self.options.bulk_timeout} if bulk and self.options.bulk_timeout else None,
            state_dir=self.state_dir,
            retry_delay_scale=self.options.retry_delay_scale,
            max_environments=self.options.max_environments,
        )
        assert self.aws.edge is not None
        self.aws.edge.config.lambda_api = self.runtime.api.endpoint
        self.gateway = Gateway(gateway_socket, self.stack.routes, self.runtime)
        threading.Thread(target=self.gateway.serve_forever, name="gateway", daemon=True).start()
        for notification_watch in self._notification_watchers():
            threading.Thread(target=notification_watch, name="s3-notifications", daemon=True).start()
        for mapping in self.stack.queue_mappings:
            # A poller per batch the mapping may have in flight at once (its maximum concurrency), capped by the
            # function's environments; without a maximum, one (Lambda would start five and scale).
            pollers = min(mapping.maximum_concurrency, self.runtime.pools[mapping.function].limit)
            for i in range(pollers):
                threading.Thread(target=self.runtime.poll_queue, args=(mapping,), name=f"sqs-{mapping.queue}-{i}",
                                 daemon=True).start()
        for schedule in self.stack.schedules:
            seconds = self.options.schedule_seconds or template.schedule_seconds(schedule.expression)
            threading.Thread(target=self._every, args=(seconds, schedule.name, schedule.function),
                             name=f"schedule-{schedule.name}", daemon=True).start()
        return self

    @property
    def api_url(self) -> str:
        return str(self.gateway.url)

    def function_name(self, handler_module: str) -> str:
        """The deployed name of the function whose handler is `functions.handlers.<handler_module>.handler`."""
        assert self.stack is not None
        wanted = f"functions.handlers.{handler_module}.handler"
        return next(name for name, spec in self.stack.functions.items() if spec.handler == wanted)

    def invoke(self, handler_module: str, event: Any) -> Outcome:
        assert self.runtime is not None
        return self.runtime.invoke(self.function_name(handler_module), event)

    def invoke_async(self, handler_module: str, event: Any) -> str:
        assert self.runtime is not None
        return self.runtime.invoke_async(self.function_name(handler_module), event)

    def drain(self, handler_modules: tuple[str, ...], timeout: float = 300) -> int:
        """Waits until the queues these functions read are empty, nothing in flight (tests, `close-cycles`): what
        a queue-driven step started has finished. Returns the messages still there at the timeout (0: drained).
        Two quiet looks in a row, since a function of one queue may fill the next."""
        assert self.stack is not None and self.aws is not None
        functions = {self.function_name(m) for m in handler_modules}
        urls = [self.aws.queue_url(m.queue) for m in self.stack.queue_mappings if m.function in functions]
        return wait_for_empty_queues(self.aws.client("sqs"), urls, timeout)

    # ---- S3 ObjectCreated notifications ----

    def _notification_watchers(self) -> list[Any]:
        assert self.stack is not None and self.aws is not None
        watchers = []
        for notification in self.stack.notifications:
            seen_file = self.state_dir / f"s3-notified-{notification.bucket}.txt" if self.state_dir else None
            seen: set[str] = set(seen_file.read_text().split()) if seen_file and seen_file.exists() else set()

            def watch(notification: Any = notification, seen: set[str] = seen, seen_file: Any = seen_file) -> None:
                s3 = self.aws.client("s3")  # type: ignore[union-attr]
                while not self._stop.wait(self.options.notification_seconds):
                    if self.notifications_held.is_set():
                        continue
                    try:
                        for record in self._new_objects(s3, notification, seen):
                            marker = record.pop("marker")
                            self.runtime.invoke_async(notification.function, {"Records": [record]})  # type: ignore[union-attr]
                            seen.add(marker)
                            if seen_file:
                                with seen_file.open("a") as out:
                                    out.write(marker + "\n")
                    except Exception as exc:  # a failed look is retried on the next tick
                        print(f"[s3-notifications] {type(exc).__name__}: {exc}", flush=True)

            watchers.append(watch)
        return watchers

    @staticmethod
    def _new_objects(s3: Any, notification: Any, seen: set[str]) -> list[dict[str, Any]]:
        records = []
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=notification.bucket, Prefix=notification.prefix):
            for version in page.get("Versions", []):
                key = version["Key"]
                if notification.suffix and not key.endswith(notification.suffix):
                    continue
                version_id = version.get("VersionId")
                version_id = None if version_id in (None, "null") else version_id
                etag = version["ETag"].strip('"')
                # One notification per PUT: a version, or (without versions) the content and its write time.
                marker = f"{key}|{version_id or etag + '@' + version['LastModified'].isoformat()}".replace(" ", "%20")
                if marker in seen:
                    continue
                record = s3_record(notification.bucket, key, version["Size"], etag, version_id)
                records.append({**record, "marker": marker})
        return records

    # ---- schedules ----

    def _every(self, seconds: float, rule: str, function: str) -> None:
        while not self._stop.wait(seconds):
            self.runtime.invoke_async(function, scheduled_event(rule))  # type: ignore[union-attr]

    def stop(self, *, keep_aws: bool = False) -> None:
        self._stop.set()
        if self.gateway:
            self.gateway.shutdown()
        if self.runtime:
            self.runtime.stop()
        if self.aws and not keep_aws:
            self.aws.stop()


def s3_record(bucket: str, key: str, size: int, etag: str, version_id: str | None) -> dict[str, Any]:
    """One record of S3's ObjectCreated event, as S3 sends it to Lambda (keys URL-encoded)."""
    from urllib.parse import quote_plus

    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": "0"}
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "local",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj},
    }


def wait_for_empty_queues(sqs: Any, urls: list[str], timeout: float) -> int:
    """Waits until every queue holds no message, visible, in flight or delayed, twice in a row; returns how many
    were left at the timeout."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    deadline, quiet, left = time.monotonic() + timeout, 0, 0
    while time.monotonic() < deadline:
        left = sum(int(v) for url in urls
                   for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values())
        quiet = quiet + 1 if left == 0 else 0
        if quiet == 2:
            return 0
        time.sleep(0.5)  # moto counts a queue's messages one by one
    return left


def scheduled_event(rule: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"], "detail": {}, **extra,
    }


def _base_environment() -> dict[str, str]:
    import os

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k in keep}


def _bind(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(port) from exc
        raise
    sock.listen(128)
    return sock


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    if not path.exists():
        import sys

        print(f"meterbill: no running local stack ({path} is missing); start one with `make dev`", file=sys.stderr)
        raise SystemExit(2)
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def connect(state_dir: Path) -> dict[str, Any]:
    """Point this process at a running local stack as its operator (the CLI's other commands)."""
    import os

    state = read_state(state_dir)
    os.environ.update(state["environment"])
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


def run(state_dir: Path, *, in_memory: bool, demo: bool, options: Options) -> int:
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    local = LocalStack(None if in_memory else state_dir, options)
    try:
        local.start()
    except PortInUse:
        local.stop()
        print(f"meterbill: port {options.port} is in use; stop what holds it or pick another: "
              f"make dev PORT={options.port + 1}", flush=True)
        return 2
    # The handlers only append: a handler that took a lock (Event.set) could find the main thread holding it.
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))
    try:
        assert local.aws is not None
        organization_id, token = _organization(state_dir, in_memory)
        state = {
            "api_url": local.api_url,
            "organization_id": organization_id,
            "token": token,
            "aws_endpoint": local.aws.endpoint,
            "batch_bucket": local.aws.batch_bucket,
            "environment": local.aws.environment,
        }
        if demo:
            from local_stack.demo import load_demo

            state.update(load_demo(local.api_url, token))
        (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
        print(f"Meterbill local stack is up\n  API       {local.api_url}\n  token     {token}", flush=True)
        print(f"  org       {organization_id}\n  state     {state_dir / STATE_FILE}", flush=True)
        if "demo_customer_id" in state:
            print(f"  demo      customer {state['demo_customer_id']} (external id demo-customer)", flush=True)
        if "portal_url" in state:
            print(f"  portal    {state['portal_url']}", flush=True)
        print(f'  try       curl -H "Authorization: Bearer {token}" '
              f"{local.api_url}/v1/organizations/{organization_id}", flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            time.sleep(0.2)
    finally:
        # Ctrl-C returns within STOP_SECONDS whatever a part of the stack does: a part that does not stop is
        # named, and the process exits anyway (its children got the same signal).
        stopper = threading.Thread(target=local.stop, name="stop", daemon=True)
        stopper.start()
        stopper.join(STOP_SECONDS)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        if stopper.is_alive():
            print(f"meterbill: the stack did not stop within {STOP_SECONDS} s; exiting anyway", flush=True)
        print("stopped", flush=True)
    return 0
