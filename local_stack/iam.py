"""IAM as AWS evaluates an identity policy: which actions on which resources a request needs, and whether a
role's statements allow them (an explicit Deny wins; no Allow is a deny).

The request side is the wire format the SDKs send (JSON protocols with `X-Amz-Target`, S3's REST paths,
Lambda's REST API), so any client in any process is checked the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import parse_qs, unquote

from local_stack.template import ACCOUNT, REGION, Statement


@dataclass(frozen=True)
class Need:
    action: str  # e.g. dynamodb:PutItem
    resource: str  # an ARN


@cache
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{regex}$", 0 if case_sensitive else re.IGNORECASE)


def _matches(globs: list[str], value: str, *, case_sensitive: bool) -> bool:
    return any(_pattern(g, case_sensitive).match(value) for g in globs)


def allowed(statements: list[Statement], need: Need) -> bool:
    def applies(s: Statement) -> bool:
        return _matches(s.actions, need.action, case_sensitive=False) and _matches(
            s.resources, need.resource, case_sensitive=True)

    if any(s.effect == "Deny" and applies(s) for s in statements):
        return False
    return any(s.effect == "Allow" and applies(s) for s in statements)


# ---- what a request needs, per service ----

def _table_arn(name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def dynamodb_needs(operation: str, body: dict) -> list[Need]:
    if operation == "TransactWriteItems":
        # IAM checks each action of a transaction as if it were sent alone.
        actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
        return [Need(f"dynamodb:{actions[kind]}", _table_arn(spec["TableName"]))
                for item in body.get("TransactItems", []) for kind, spec in item.items()]
    if operation == "TransactGetItems":
        return [Need("dynamodb:GetItem", _table_arn(item["Get"]["TableName"]))
                for item in body.get("TransactItems", [])]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Need(f"dynamodb:{operation}", _table_arn(t)) for t in body.get("RequestItems", {})]
    table = body.get("TableName") or body.get("TableArn") or "*"
    resource = _table_arn(table)
    if body.get("IndexName"):
        resource += f"/index/{body['IndexName']}"
    return [Need(f"dynamodb:{operation}", resource)]


def events_needs(operation: str, body: dict) -> list[Need]:
    if operation == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in body.get("Entries", [])}
        return [Need("events:PutEvents", b if b.startswith("arn:") else
                     f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}") for b in sorted(buses)]
    name = body.get("EventBusName") or body.get("Name") or "default"
    return [Need(f"events:{operation}", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}")]


def sqs_needs(operation: str, body: dict) -> list[Need]:
    url = body.get("QueueUrl") or ""
    name = url.rstrip("/").rsplit("/", 1)[-1] if url else body.get("QueueName", "*")
    # A batch call is authorized as its single action (IAM has no sqs:DeleteMessageBatch).
    action = operation.removesuffix("Batch")
    return [Need(f"sqs:{action}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]


def lambda_needs(method: str, path: str) -> list[Need]:
    match = re.match(r"^/2015-03-31/functions/([^/]+)/invocations$", path)
    if method == "POST" and match:
        name = unquote(match.group(1))
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        return [Need("lambda:InvokeFunction", arn)]
    return [Need("lambda:UnsupportedLocally", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*")]


def s3_needs(method: str, path: str, query: str, headers: dict[str, str]) -> list[Need]:
    """Path-style S3 requests (what boto3 sends to an IP endpoint) to IAM actions."""
    params = parse_qs(query, keep_blank_values=True)
    bucket, _, key = unquote(path.lstrip("/")).partition("/")
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not key:
        if "versions" in params:
            action = "ListBucketVersions"
        elif "uploads" in params:
            action = "ListBucketMultipartUploads"
        elif method in ("GET", "HEAD") and not any(p in params for p in ("versioning", "location", "notification",
                                                                         "policy", "tagging", "lifecycle")):
            action = "ListBucket"
        else:
            sub = next((p for p in ("versioning", "location", "notification", "policy", "tagging", "lifecycle")
                        if p in params), "")
            verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method.title())
            action = {"": {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, f"{verb}Bucket"),
                      "versioning": f"{verb}BucketVersioning", "location": "GetBucketLocation",
                      "notification": f"{verb}BucketNotification", "policy": f"{verb}BucketPolicy",
                      "tagging": f"{verb}BucketTagging", "lifecycle": f"{verb}LifecycleConfiguration"}[sub]
        return [Need(f"s3:{action}", bucket_arn)]
    object_arn = f"{bucket_arn}/{key}"
    versioned = "versionId" in params
    if method in ("GET", "HEAD"):
        if "tagging" in params:
            return [Need("s3:GetObjectVersionTagging" if versioned else "s3:GetObjectTagging", object_arn)]
        if "uploadId" in params:
            return [Need("s3:ListMultipartUploadParts", object_arn)]
        return [Need("s3:GetObjectVersion" if versioned else "s3:GetObject", object_arn)]
    if method in ("PUT", "POST"):
        needs = [Need("s3:PutObjectTagging" if "tagging" in params else "s3:PutObject", object_arn)]
        source = headers.get("x-amz-copy-source")
        if source:
            source_path, _, source_query = unquote(source).lstrip("/").partition("?")
            action = "s3:GetObjectVersion" if "versionId" in source_query else "s3:GetObject"
            needs.append(Need(action, f"arn:aws:s3:::{source_path}"))
        return needs
    if method == "DELETE":
        if "uploadId" in params:
            return [Need("s3:AbortMultipartUpload", object_arn)]
        return [Need("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", object_arn)]
    return [Need(f"s3:{method}", object_arn)]


def json_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
