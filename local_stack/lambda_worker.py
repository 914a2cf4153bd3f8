"""One Lambda execution environment: a process that imports one handler (the init phase) and then runs one
invocation at a time, as Lambda's runtime interface does. Started by local_stack/runtime.py.

Protocol on two inherited pipes (their fds in LOCAL_LAMBDA_PIPES): one JSON document per line. The first line out reports the
init; then each line in is an invocation and each line out its result. The handler's own stdout goes to stderr,
which the runtime forwards as the function's log, as CloudWatch would receive it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
from typing import Any


class Context:
    """The Lambda context object: a deadline that counts down, the function's identity."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = os.environ["LOCAL_LAMBDA_FUNCTION_ARN"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}


def _exit_with_the_runtime() -> None:
    """An environment never outlives the runtime that started it (a `kill -9` of the stack ends it too)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    _exit_with_the_runtime()
    commands_fd, results_fd = (int(fd) for fd in os.environ.pop("LOCAL_LAMBDA_PIPES").split(","))
    commands = os.fdopen(commands_fd, "r")
    results = os.fdopen(results_fd, "w")
    os.dup2(2, 1)  # print() in a handler is log output, never a protocol line
    sys.stdout = sys.stderr
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except BaseException as exc:  # Runtime.ImportModuleError: reported, and the environment is not used
        results.write(json.dumps({"init": "error", **_error(exc)}) + "\n")
        results.flush()
        return
    results.write(json.dumps({"init": "ok", "ms": (time.perf_counter() - started) * 1000}) + "\n")
    results.flush()
    for line in commands:
        invocation = json.loads(line)
        context = Context(invocation["request_id"], invocation["deadline_ms"])
        try:
            outcome = {"ok": True, "result": handler(invocation["event"], context)}
        except Exception as exc:
            outcome = {"ok": False, **_error(exc)}
        try:
            encoded = json.dumps(outcome)
        except (TypeError, ValueError) as exc:  # Lambda cannot serialize the result either
            encoded = json.dumps({"ok": False, "errorType": "Runtime.MarshalError", "errorMessage": str(exc)})
        results.write(encoded + "\n")
        results.flush()


if __name__ == "__main__":
    main()
