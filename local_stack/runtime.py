"""The local Lambda runtime: runs every function of the synthesized template as Lambda would.

- Each execution environment is its own process (local_stack/lambda_worker.py) with the function's environment
  from the template and its role's credentials; it serves one invocation at a time. More environments are
  started for concurrency, up to the function's reserved concurrency (or `max_environments` locally).
- Synchronous invocations (the gateway) return the handler's result or its error; a run past the function's
  timeout kills the environment ("Task timed out"), as Lambda does.
- Asynchronous invocations (S3 notifications, the schedule, `lambda:Invoke` with InvocationType=Event) are queued;
  an error or a timeout is retried with Lambda's delays (1 minute, then 2, times `retry_delay_scale`) up to the
  function's MaximumRetryAttempts, then sent to its on-failure destination with Lambda's record format, using the
  function's own role (as Lambda does). With a state directory the queue survives a restart of the stack.
- SQS event source mappings: a poller per mapping receives batches with the function's role (as Lambda's
  pollers do), invokes the function synchronously with SQS's event, and deletes the messages it handled: all of
  them, or with ReportBatchItemFailures all but the `batchItemFailures`; a function error deletes none (they come
  back after the queue's visibility timeout, and its redrive policy moves them to the dead-letter queue).
- The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) is served for the functions' own
  `lambda:InvokeFunction` calls, behind the edge's IAM check.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3

from local_stack.edge import role_access_key
from local_stack.ports import LoopbackServer
from local_stack.template import ACCOUNT, REGION, FunctionSpec, QueueMapping, Stack

ROOT = Path(__file__).resolve().parent.parent
RETRY_DELAYS = (60.0, 120.0)  # Lambda's waits before the second and third attempts
INIT_LIMIT_SECONDS = 10.0


@dataclass
class Outcome:
    ok: bool
    result: Any = None
    error_type: str = ""
    error_message: str = ""
    stack_trace: list[str] = field(default_factory=list)

    def error_payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.error_message, "stackTrace": self.stack_trace}


class Throttled(Exception):
    """The function's reserved concurrency is in use (Lambda's TooManyRequestsException)."""


class ExecutionEnvironment:
    def __init__(self, spec: FunctionSpec, env: dict[str, str]) -> None:
        self.spec = spec
        commands_read, self._commands = os.pipe()
        self._results, results_write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_stack.lambda_worker"],
            cwd=ROOT, env={**env, "LOCAL_LAMBDA_PIPES": f"{commands_read},{results_write}"},
            stdin=subprocess.DEVNULL, pass_fds=(commands_read, results_write),
        )
        os.close(commands_read)
        os.close(results_write)
        self._reader = os.fdopen(self._results, "r")
        self._writer = os.fdopen(self._commands, "w")
        init = self._read(max(INIT_LIMIT_SECONDS, spec.timeout))
        if init is None or init.get("init") != "ok":  # a timeout, an exit, or an import error
            self.kill()
            message = (init or {}).get("errorMessage", "the init phase did not finish")
            raise RuntimeError(f"{spec.name}: init failed: {message}")
        self.init_ms: float = init["ms"]

    def _read(self, timeout: float) -> dict[str, Any] | None:
        """The next line from the worker; None on a timeout; {"exited": True} when the process is gone."""
        ready, _, _ = select.select([self._reader], [], [], max(0.0, timeout))
        if not ready:
            return None
        line = self._reader.readline()
        return json.loads(line) if line else {"exited": True}

    def invoke(self, event: Any, request_id: str) -> Outcome:
        deadline = time.time() + self.spec.timeout
        try:
            self._writer.write(json.dumps({"event": event, "request_id": request_id,
                                           "deadline_ms": int(deadline * 1000)}) + "\n")
            self._writer.flush()
        except BrokenPipeError:
            self.kill()
            return Outcome(False, error_type="Runtime.ExitError", error_message="the environment had exited")
        reply = self._read(deadline - time.time())
        if reply is None or reply.get("exited"):
            self.kill()
            if reply is not None:
                return Outcome(False, error_type="Runtime.ExitError",
                               error_message=f"RequestId: {request_id} Error: Runtime exited")
            return Outcome(False, error_type="Sandbox.Timedout",
                           error_message=f"Task timed out after {self.spec.timeout:.2f} seconds")
        if reply.get("ok"):
            return Outcome(True, result=reply.get("result"))
        return Outcome(False, error_type=reply.get("errorType", ""), error_message=reply.get("errorMessage", ""),
                       stack_trace=reply.get("stackTrace", []))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self._reader, self._writer):
            with contextlib.suppress(OSError, ValueError):
                stream.close()


class FunctionPool:
    """The execution environments of one function."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], max_environments: int) -> None:
        self.spec = spec
        self.env = env
        self.limit = spec.reserved_concurrency or max_environments
        self.idle: list[ExecutionEnvironment] = []
        self.running: set[ExecutionEnvironment] = set()
        self.active = 0  # environments existing (idle or busy)
        self.busy = 0
        self.cold_starts = 0
        self.condition = threading.Condition()

    def acquire(self, wait: bool) -> ExecutionEnvironment:
        """An environment for one invocation: concurrency (invocations at once) is what the limit caps."""
        with self.condition:
            while self.busy >= self.limit:
                if not wait:
                    raise Throttled(f"Rate Exceeded: {self.spec.name} is at its concurrency of {self.limit}")
                self.condition.wait()
            self.busy += 1
            if self.idle:
                return self.idle.pop()
            self.active += 1
        try:
            environment = ExecutionEnvironment(self.spec, self.env)
        except BaseException:
            with self.condition:
                self.active -= 1
                self.busy -= 1
                self.condition.notify()
            raise
        self.cold_starts += 1
        return environment

    def release(self, environment: ExecutionEnvironment) -> None:
        with self.condition:
            self.busy -= 1
            if environment.alive:
                self.idle.append(environment)
            else:
                self.active -= 1
            self.condition.notify()

    def invoke(self, event: Any, *, wait: bool = True) -> Outcome:
        environment = self.acquire(wait)
        with self.condition:
            self.running.add(environment)
        try:
            return environment.invoke(event, str(uuid.uuid4()))
        finally:
            with self.condition:
                self.running.discard(environment)
            self.release(environment)

    def kill_running(self) -> int:
        """SIGKILL every environment in the middle of an invocation (tests: a crash at a chosen moment)."""
        with self.condition:
            running = list(self.running)
        for environment in running:
            environment.process.kill()
        for environment in running:  # dead on return: no line of the handler runs after the chosen moment
            environment.process.wait(timeout=30)
        return len(running)

    def stop(self) -> None:
        with self.condition:
            for environment in self.idle:
                environment.kill()
            self.idle.clear()


@dataclass
class AsyncInvocation:
    id: str
    function: str
    event: Any
    attempts: int = 0  # attempts made so far
    first_at: float = 0.0
    not_before: float = 0.0
    last_error: dict[str, Any] | None = None
    running: bool = False  # on disk while an attempt runs: after a stop, that attempt counts as failed


class LambdaRuntime:
    def __init__(self, stack: Stack, *, base_env: dict[str, str], edge_endpoint: str,
                 overrides: dict[str, dict[str, str]] | None = None, timeouts: dict[str, int] | None = None,
                 state_dir: Path | None = None, retry_delay_scale: float = 1.0, max_environments: int = 8,
                 async_workers: int = 8) -> None:
        self.stack = stack
        self.edge_endpoint = edge_endpoint
        self.retry_delay_scale = retry_delay_scale
        self.pools: dict[str, FunctionPool] = {}
        for name, spec in stack.functions.items():
            if timeouts and name in timeouts:
                spec.timeout = timeouts[name]
            env = {
                **base_env,
                **spec.environment,
                **(overrides or {}).get(name, {}),
                "_HANDLER": spec.handler,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "LOCAL_LAMBDA_FUNCTION_ARN": spec.arn,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": role_access_key(spec.role),
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
                "AWS_ENDPOINT_URL": edge_endpoint,
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
            self.pools[name] = FunctionPool(spec, env, max_environments)
        self.state_dir = state_dir / "async-invocations" if state_dir else None
        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        self._heap: list[tuple[float, int, str]] = []
        self._pending: dict[str, AsyncInvocation] = {}
        self._in_flight = 0  # popped by a worker and not finished (between the queue and an environment)
        self._order = itertools.count()
        self._queue_condition = threading.Condition()
        self._stopping = threading.Event()
        self.completed: list[tuple[str, str, bool]] = []  # (function, invocation id, succeeded): for tests
        self._resume_persisted()
        for i in range(async_workers):
            threading.Thread(target=self._async_worker, name=f"lambda-async-{i}", daemon=True).start()
        self.api = _InvokeApi(self)

    # ---- synchronous ----

    def invoke(self, function: str, event: Any) -> Outcome:
        """Synchronous. Beyond a reserved concurrency Lambda refuses (Throttled); beyond the local cap of
        environments (Lambda would scale further) the call waits for one."""
        pool = self.pools[function]
        return pool.invoke(event, wait=pool.spec.reserved_concurrency is None)

    # ---- asynchronous ----

    def invoke_async(self, function: str, event: Any) -> str:
        if function not in self.pools:
            raise KeyError(function)
        now = time.time()
        invocation = AsyncInvocation(id=str(uuid.uuid4()), function=function, event=event, first_at=now,
                                     not_before=now)
        self._schedule(invocation)
        return invocation.id

    def _persist(self, invocation: AsyncInvocation) -> None:
        if self.state_dir:
            path = self.state_dir / f"{invocation.id}.json"
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(asdict(invocation)))
            temporary.replace(path)  # the invocation is accepted once it is on disk

    def _forget(self, invocation: AsyncInvocation) -> None:
        if self.state_dir:
            (self.state_dir / f"{invocation.id}.json").unlink(missing_ok=True)

    def _resume_persisted(self) -> None:
        """Invocations accepted before a stop: one that was running counts as a failed attempt (its environment
        died with the stack), and goes on under the function's retry policy."""
        if not self.state_dir:
            return
        for path in sorted(self.state_dir.glob("*.json")):
            invocation = AsyncInvocation(**json.loads(path.read_text()))
            if invocation.function not in self.pools:
                path.unlink()
            elif invocation.running:
                invocation.running = False
                self._after_failure(invocation, Outcome(False, error_type="Runtime.ExitError",
                                                        error_message="the local stack stopped during the attempt"))
            else:
                self._schedule(invocation)

    def _schedule(self, invocation: AsyncInvocation) -> None:
        self._persist(invocation)
        with self._queue_condition:
            self._pending[invocation.id] = invocation
            heapq.heappush(self._heap, (invocation.not_before, next(self._order), invocation.id))
            self._queue_condition.notify()

    def _next_due(self) -> AsyncInvocation | None:
        with self._queue_condition:
            while not self._stopping.is_set():
                if self._heap:
                    due, _, invocation_id = self._heap[0]
                    wait = due - time.time()
                    if wait <= 0:
                        heapq.heappop(self._heap)
                        self._in_flight += 1  # taken off the queue, not yet in an environment: not idle
                        return self._pending.pop(invocation_id)
                    self._queue_condition.wait(min(wait, 1.0))
                else:
                    self._queue_condition.wait(1.0)
        return None

    def _async_worker(self) -> None:
        while (invocation := self._next_due()) is not None:
            try:
                self._run_async(invocation)
            except Exception as exc:  # the runtime itself must not lose an invocation
                print(f"[lambda-runtime] {invocation.function}: {type(exc).__name__}: {exc}", file=sys.stderr)
                invocation.not_before = time.time() + 1
                self._schedule(invocation)
            finally:
                with self._queue_condition:
                    self._in_flight -= 1

    def _run_async(self, invocation: AsyncInvocation) -> None:
        spec = self.pools[invocation.function].spec
        # Marked as running on disk: a stop now makes it a failed attempt when the stack comes back.
        invocation.attempts += 1
        invocation.running = True
        self._persist(invocation)
        outcome = self.pools[invocation.function].invoke(invocation.event, wait=True)
        invocation.running = False
        if outcome.ok:
            self._forget(invocation)
            self.completed.append((invocation.function, invocation.id, True))
            if spec.on_success:
                self._send_to_destination(spec, invocation, outcome, "Success")
            return
        self._after_failure(invocation, outcome)

    def _after_failure(self, invocation: AsyncInvocation, outcome: Outcome) -> None:
        spec = self.pools[invocation.function].spec
        invocation.last_error = outcome.error_payload()
        print(f"[{spec.name}] async attempt {invocation.attempts} failed: {outcome.error_type}: "
              f"{outcome.error_message}", file=sys.stderr, flush=True)
        too_old = time.time() - invocation.first_at > spec.max_event_age
        if invocation.attempts > spec.max_retries or too_old:
            if spec.on_failure:
                self._send_to_destination(spec, invocation, outcome,
                                          "EventAgeExceeded" if too_old else "RetriesExhausted")
            self._forget(invocation)
            self.completed.append((invocation.function, invocation.id, False))
            return
        delay = RETRY_DELAYS[min(invocation.attempts - 1, len(RETRY_DELAYS) - 1)] * self.retry_delay_scale
        invocation.not_before = time.time() + delay
        self._schedule(invocation)

    def _send_to_destination(self, spec: FunctionSpec, invocation: AsyncInvocation, outcome: Outcome,
                             condition: str) -> None:
        """Lambda's destination record, sent with the function's role (its policy must allow it)."""
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {"requestId": invocation.id, "functionArn": f"{spec.arn}:$LATEST",
                               "condition": condition, "approximateInvokeCount": invocation.attempts},
            "requestPayload": invocation.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                **({} if outcome.ok else {"functionError": "Unhandled"})},
            "responsePayload": outcome.result if outcome.ok else outcome.error_payload(),
        }
        destination = spec.on_success if outcome.ok else spec.on_failure
        assert destination is not None
        session = boto3.session.Session(aws_access_key_id=role_access_key(spec.role), aws_secret_access_key="local",
                                        aws_session_token="local", region_name=REGION)
        if ":sqs:" in destination:
            queue = destination.rsplit(":", 1)[1]
            sqs = session.client("sqs", endpoint_url=self.edge_endpoint)
            url = f"{self.edge_endpoint}/{ACCOUNT}/{queue}"
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        else:
            raise NotImplementedError(f"destination {destination}")

    # ---- SQS event source mappings ----

    def poll_queue(self, mapping: QueueMapping) -> None:
        """Lambda's SQS poller for one mapping, until the runtime stops (run it in a thread)."""
        spec = self.pools[mapping.function].spec
        session = boto3.session.Session(aws_access_key_id=role_access_key(spec.role), aws_secret_access_key="local",
                                        aws_session_token="local", region_name=REGION)
        sqs = session.client("sqs", endpoint_url=self.edge_endpoint)
        url = f"{self.edge_endpoint}/{ACCOUNT}/{mapping.queue}"
        # Creating a mapping checks that the role may read the queue: here the first call does (once), and a role
        # that may not fails every poll, loudly.
        checked = False
        while not self._stopping.is_set():
            try:
                if not checked:
                    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
                    checked = True
                # A short poll: the runtime's stop is never kept waiting by a long one. moto's receive is atomic
                # per queue (local_stack/moto_sqs.py), so pollers of one queue never both take a message.
                received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(mapping.batch_size, 10),
                                               WaitTimeSeconds=0, AttributeNames=["All"],
                                               MessageAttributeNames=["All"]).get("Messages", [])
                if not received:
                    self._stopping.wait(0.5)
            except Exception as exc:
                print(f"[{spec.name}] polling {mapping.queue}: {type(exc).__name__}: {exc}", file=sys.stderr,
                      flush=True)
                self._stopping.wait(1.0)
                continue
            if received:
                self._handle_batch(mapping, sqs, url, received)

    def _handle_batch(self, mapping: QueueMapping, sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
        spec = self.pools[mapping.function].spec
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": mapping.queue_arn,
            "awsRegion": REGION} for m in messages]}
        with self._queue_condition:
            self._in_flight += 1  # not idle while a batch is in an environment
        try:
            outcome = self.pools[mapping.function].invoke(event, wait=True)
        finally:
            with self._queue_condition:
                self._in_flight -= 1
        self.completed.append((mapping.function, messages[0]["MessageId"], outcome.ok))
        if not outcome.ok:
            print(f"[{spec.name}] batch of {len(messages)} failed: {outcome.error_type}: {outcome.error_message}",
                  file=sys.stderr, flush=True)
            return  # nothing deleted: the whole batch comes back after its visibility timeout
        failed: set[str] = set()
        if mapping.report_batch_item_failures and isinstance(outcome.result, dict):
            reported = outcome.result.get("batchItemFailures") or []
            failed = {str(f.get("itemIdentifier") or "") for f in reported}
            if "" in failed:  # Lambda treats a failure it cannot read as the whole batch failing
                return
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            refused = sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]).get("Failed")
            if refused:  # the messages come back after their visibility timeout, as in SQS
                print(f"[{spec.name}] {len(refused)} message(s) not deleted: {refused[0]}", file=sys.stderr,
                      flush=True)

    def wait_idle(self, timeout: float) -> bool:
        """True once no asynchronous invocation is queued or running (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._queue_condition:
                queued = bool(self._pending) or self._in_flight > 0
            running = any(pool.busy for pool in self.pools.values())
            if not queued and not running:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self._stopping.set()
        with self._queue_condition:
            self._queue_condition.notify_all()
        self.api.stop()
        for pool in self.pools.values():
            pool.stop()


class _InvokeApi:
    """Lambda's Invoke API for the functions' own calls (reached through the edge)."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are separate writes: with Nagle on, the client's delayed ACK holds the body ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                name = unquote(self.path.split("/functions/", 1)[1].split("/", 1)[0])
                name = name.split(":function:", 1)[-1].split(":", 1)[0]
                kind = self.headers.get("x-amz-invocation-type", "RequestResponse")
                if name not in runtime.pools:
                    return self._reply(404, {"Type": "User", "message": f"Function not found: {name}"},
                                       {"x-amzn-ErrorType": "ResourceNotFoundException"})
                if kind == "Event":
                    runtime.invoke_async(name, payload)
                    return self._reply(202, None)
                if kind == "DryRun":
                    return self._reply(204, None)
                outcome = runtime.invoke(name, payload)
                if outcome.ok:
                    return self._reply(200, outcome.result)
                return self._reply(200, outcome.error_payload(), {"X-Amz-Function-Error": "Unhandled"})

            def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None and status in (202, 204) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = LoopbackServer(Handler, name="lambda-invoke-api")

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def stop(self) -> None:
        self.server.stop()
