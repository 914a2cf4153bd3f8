"""The local AWS endpoint: every AWS call of the local stack goes through here, as it would through AWS's edge.

For each request it
- finds the caller from the SigV4 credential (a function's role, or the local administrator),
- checks the role's policies from the synthesized template against the actions and resources the request needs
  (local_stack/iam.py), refusing what AWS would refuse with the same error shape,
- applies DynamoDB's transaction-conflict rule, which DynamoDB Local does not: a transaction touching an item that
  an in-flight transaction is writing is cancelled with a `TransactionConflict` reason, and a single write to such
  an item fails with `TransactionConflictException`,
- and forwards the rest to DynamoDB Local (dynamodb), the Lambda runtime (lambda) or moto (everything else).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from local_stack import iam
from local_stack.ports import LoopbackServer
from local_stack.template import ACCOUNT, Statement

ADMIN_ACCESS_KEY = "local"  # the operator: `meterbill` commands, tests setting up data
CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


def role_access_key(role_logical_id: str) -> str:
    """The credential a function's execution environment gets for its role (AWS hands it STS credentials)."""
    return f"LOCALROLE{role_logical_id}"


@dataclass
class Principal:
    name: str  # a role's logical id, or "admin"
    statements: list[Statement] | None  # None: the administrator, allowed everything


@dataclass
class ConflictStats:
    transactions: int = 0
    transactions_cancelled: int = 0  # by the conflict rule, here
    transactions_refused_upstream: int = 0  # forwarded, and refused by DynamoDB (a condition failed, mostly)
    single_writes_refused: int = 0


@dataclass
class EdgeConfig:
    dynamodb: str  # upstream endpoints, http://host:port
    moto: str
    key_schema: dict[str, tuple[str, str | None]]  # table name -> (partition key, sort key)
    principals: dict[str, Principal] = field(default_factory=dict)  # by access key id
    lambda_api: str | None = None
    on_s3_change: Callable[[str, str], None] | None = None  # (bucket, key) written, before the writer hears so


class Edge:
    def __init__(self, config: EdgeConfig, port: int = 0) -> None:
        self.config = config
        self.config.principals.setdefault(ADMIN_ACCESS_KEY, Principal("admin", None))
        self.lock = threading.Lock()
        self.writing: Counter[tuple[str, str]] = Counter()  # items written by in-flight transactions
        self.conflicts = ConflictStats()
        self.used: set[tuple[str, str, str]] = set()  # (role, action, resource) allowed and sent
        self.denied: list[tuple[str, str, str]] = []
        # Fault injection for tests: hook(phase, role, service, operation) before ("before") and after ("after")
        # a request is forwarded, while a transaction is in flight ("in_flight"), and once DynamoDB has answered
        # a write but before the caller hears it ("committed": a crash there is a write the caller never saw
        # succeed); a reply returned by a "before" hook is sent instead of forwarding.
        self.hooks: list[Callable[[str, str, str, str], Reply | None]] = []
        self._local = threading.local()
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes; with Nagle on, the client's delayed ACK holds the
            # second one ~40 ms (every DynamoDB call through the edge took 50 ms instead of 3).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                try:
                    edge.serve(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the caller died (an environment killed mid-call)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _any

        self.server = LoopbackServer(Handler, port, name="aws-edge")

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def stop(self) -> None:
        self.server.stop()

    # ---- one request ----

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = _read_body(request, headers)
        parts = urlsplit(request.path)
        found = CREDENTIAL.search(headers.get("authorization", "")) or CREDENTIAL.search(
            "Credential=" + unquote(_query_value(parts.query, "X-Amz-Credential") or ""))
        if not found:
            return _reply(request, *_denied("s3", "", "anonymous requests are not accepted", status=403))
        access_key, _, service = found.groups()
        principal = self.config.principals.get(access_key)
        if principal is None:
            return _reply(request, *_error(service, 403, "UnrecognizedClientException",
                                           "The security token included in the request is invalid."))
        target = headers.get("x-amz-target", "")
        operation = target.rsplit(".", 1)[-1] if target else ""
        needs = self._needs(service, operation, request.command, parts.path, parts.query, headers, body)
        if principal.statements is not None:
            for need in needs:
                if not iam.allowed(principal.statements, need):
                    self.denied.append((principal.name, need.action, need.resource))
                    message = (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{principal.name}/local is not authorized "
                               f"to perform: {need.action} on resource: {need.resource} because no "
                               f"identity-based policy allows the {need.action} action")
                    return _reply(request, *_denied(service, operation, message))
            for need in needs:
                self.used.add((principal.name, need.action, need.resource))
        operation = operation or request.command
        for hook in list(self.hooks):
            injected = hook("before", principal.name, service, operation)
            if injected is not None:
                return _reply(request, *injected)
        try:
            self._route(request, principal, service, operation, parts.path, headers, body)
        finally:
            for hook in list(self.hooks):
                hook("after", principal.name, service, operation)

    def _route(self, request: BaseHTTPRequestHandler, principal: Principal, service: str, operation: str,
               path: str, headers: dict[str, str], body: bytes) -> None:
        if service == "dynamodb":
            return self._dynamodb(request, principal, operation, headers, body)
        upstream = self.config.lambda_api if service == "lambda" else self.config.moto
        if upstream is None:
            return _reply(request, *_error(service, 503, "ServiceUnavailable", f"no local {service} service"))
        answered = None
        keep = self.config.on_s3_change
        if service == "s3" and keep and request.command in ("PUT", "POST", "DELETE"):
            bucket, _, key = unquote(path.lstrip("/")).partition("/")
            if key:
                # Kept before the client hears it is stored, as S3's answer means: saved after the answer, a stack
                # killed in between lost an object its writer had been told was there.
                def answered(status: int) -> None:
                    if 200 <= status < 300:
                        keep(bucket, key)
        self._forward(request, upstream, headers, body, answered)
        return None

    def _needs(self, service: str, operation: str, method: str, path: str, query: str, headers: dict[str, str],
               body: bytes) -> list[iam.Need]:
        if service == "dynamodb":
            return iam.dynamodb_needs(operation, iam.json_body(body))
        if service == "s3":
            return iam.s3_needs(method, path, query, headers)
        if service == "events":
            return iam.events_needs(operation, iam.json_body(body))
        if service == "sqs":
            return iam.sqs_needs(operation, iam.json_body(body))
        if service == "lambda":
            return iam.lambda_needs(method, path)
        return [iam.Need(f"{service}:{operation or method}", "*")]

    # ---- DynamoDB's transaction-conflict rule ----

    def _item(self, table: str, key: dict[str, Any]) -> tuple[str, str]:
        partition, sort = self.config.key_schema.get(table, ("PK", "SK"))
        identity = {partition: key.get(partition)}
        if sort:
            identity[sort] = key.get(sort)
        return table, json.dumps(identity, sort_keys=True)

    def _transaction_items(self, body: dict) -> list[tuple[str, str]]:
        items = []
        for action in body.get("TransactItems", []):
            (kind, spec), = action.items()
            items.append(self._item(spec["TableName"], spec["Item"] if kind == "Put" else spec["Key"]))
        return items

    def _dynamodb(self, request: BaseHTTPRequestHandler, principal: Principal, operation: str,
                  headers: dict[str, str], body: bytes) -> None:
        if operation == "TransactWriteItems":
            items = self._transaction_items(iam.json_body(body))
            with self.lock:
                self.conflicts.transactions += 1
                busy = [item in self.writing for item in items]
                if not any(busy):
                    self.writing.update(items)
                else:
                    self.conflicts.transactions_cancelled += 1
            if any(busy):
                reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"} if b
                           else {"Code": "None"} for b in busy]
                codes = ", ".join(r["Code"] for r in reasons)
                return _reply(request, *_dynamodb_error(
                    "TransactionCanceledException", f"Transaction cancelled, please refer cancellation reasons "
                    f"for specific reasons [{codes}]", CancellationReasons=reasons))
            try:
                for hook in list(self.hooks):  # tests: hold a transaction while it is in flight
                    hook("in_flight", principal.name, "dynamodb", operation)
                if self._forward(request, self.config.dynamodb, headers, body,
                                 lambda _: self._run_hooks("committed", principal, operation)) >= 400:
                    with self.lock:
                        self.conflicts.transactions_refused_upstream += 1
            finally:
                with self.lock:
                    self.writing.subtract(items)
                    for item in items:
                        if self.writing[item] <= 0:
                            del self.writing[item]
            return None
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            parsed = iam.json_body(body)
            item = self._item(parsed.get("TableName", ""), parsed.get("Item") or parsed.get("Key") or {})
            with self.lock:
                item_busy = item in self.writing
                if item_busy:
                    self.conflicts.single_writes_refused += 1
            if item_busy:
                return _reply(request, *_dynamodb_error(
                    "TransactionConflictException", "Transaction is ongoing for the item"))
        self._forward(request, self.config.dynamodb, headers, body)
        return None

    # ---- forwarding ----

    def _connection(self, upstream: str) -> http.client.HTTPConnection:
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        if upstream not in pool:
            parts = urlsplit(upstream)
            pool[upstream] = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=900)
        return pool[upstream]

    def _run_hooks(self, phase: str, principal: Principal, operation: str) -> None:
        for hook in list(self.hooks):
            hook(phase, principal.name, "dynamodb", operation)

    def _forward(self, request: BaseHTTPRequestHandler, upstream: str, headers: dict[str, str], body: bytes,
                 answered: Callable[[int], None] | None = None) -> int:
        sent = {k: v for k, v in request.headers.items()
                if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive")}
        sent["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            connection = self._connection(upstream)
            try:
                connection.request(request.command, request.path, body=body, headers=sent)
                response = connection.getresponse()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                connection.close()  # a kept-alive connection the upstream closed: once more on a new one
                if attempt == 2:
                    raise
        if answered is not None:  # upstream has answered; the client has not yet
            answered(response.status)
        request.send_response(response.status, response.reason)
        length = response.getheader("content-length")
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive", "server",
                                   "date"):
                request.send_header(key, value)
        if length is None:
            payload = response.read()
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            if request.command != "HEAD":
                request.wfile.write(payload)
        else:
            request.send_header("Content-Length", length)
            request.end_headers()
            while chunk := response.read(1 << 16):
                request.wfile.write(chunk)
        return response.status


def _read_body(request: BaseHTTPRequestHandler, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(request.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while request.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(request.rfile.read(size))
            request.rfile.readline()
    length = int(headers.get("content-length") or 0)
    return request.rfile.read(length) if length else b""


def _query_value(query: str, name: str) -> str | None:
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return None


Reply = tuple[int, dict[str, str], bytes]


def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes) -> None:
    request.send_response(status)
    for key, value in headers.items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(payload)


def _dynamodb_error(code: str, message: str, **extra: Any) -> Reply:
    payload = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}
    return 400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(payload).encode()


def _error(service: str, status: int, code: str, message: str) -> Reply:
    if service == "s3":
        xml = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return status, {"Content-Type": "application/xml"}, xml.encode()
    if service == "lambda":
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(
            {"Type": "User", "message": message}).encode()
    if service == "dynamodb":
        return status, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(
            {"__type": f"com.amazon.coral.service#{code}", "message": message}).encode()
    return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-query-error": f"{code};Sender"}, json.dumps(
        {"__type": code, "message": message}).encode()


def _denied(service: str, operation: str, message: str, status: int | None = None) -> Reply:
    if service == "s3":
        return _error("s3", 403, "AccessDenied", message)
    if service == "lambda":
        return _error("lambda", 403, "AccessDeniedException", message)
    if service == "sqs":
        return _error("sqs", 403, "AccessDenied", message)
    return _error(service, status or 400, "AccessDeniedException", message)
