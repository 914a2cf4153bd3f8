"""Progress of a batch file: one item per object version, claimed by one invocation at a time (a lease)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.common.errors import Conflict
from functions.store import dynamo
from functions.store.codec import from_item, to_item
from functions.store.keys import bulk_file_key as file_key


@dataclass
class FileProgress:
    status: str  # running | done | rejected | failed
    line: int = 0  # last record number fully handled
    offset: int = 0  # bytes of the (uncompressed) object read up to `line`
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    segment: int = 0  # how many invocations worked on the file
    seconds: float = 0.0
    started_at: str = ""
    reason: str | None = None
    lease_until: str = ""  # until when `owner` holds the file ("" once released)


def claim(bucket: str, object_key: str, version: str, owner: str, now: str, lease_until: str) -> FileProgress | None:
    """The progress to continue from, or None if the file is finished or another invocation holds it. A file
    that `failed` is claimed again by Lambda's retry; an empty lease is a released one."""
    try:
        response = dynamo.call(
            "update_item",
            TableName=dynamo.table_name(),
            Key=file_key(bucket, object_key, version),
            UpdateExpression="SET #o = :me, lease_until = :until, started_at = if_not_exists(started_at, :now), "
                             "#s = :running ADD #seg :one",
            ConditionExpression="attribute_not_exists(PK) OR (#s IN (:running, :failed) AND lease_until < :now)",
            ExpressionAttributeNames={"#o": "owner", "#s": "status", "#seg": "segment"},
            ExpressionAttributeValues={":me": {"S": owner}, ":until": {"S": lease_until}, ":now": {"S": now},
                                       ":running": {"S": "running"}, ":failed": {"S": "failed"},
                                       ":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
    except Conflict:
        return None
    data = from_item(response["Attributes"])
    return FileProgress(**{k: data[k] for k in FileProgress.__dataclass_fields__ if k in data})


def save(bucket: str, object_key: str, version: str, owner: str, progress: FileProgress, lease_until: str) -> None:
    """Checkpoint; only the invocation holding the lease may write it."""
    values = {k: getattr(progress, k) for k in FileProgress.__dataclass_fields__ if k not in ("segment", "lease_until")}
    values = {k: v for k, v in values.items() if v is not None}
    names = {f"#a{i}": k for i, k in enumerate(values)}
    dynamo.call(
        "update_item",
        TableName=dynamo.table_name(),
        Key=file_key(bucket, object_key, version),
        UpdateExpression="SET lease_until = :until, " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
        ConditionExpression="#o = :me",
        ExpressionAttributeNames={"#o": "owner", **names},
        ExpressionAttributeValues={":me": {"S": owner}, ":until": {"S": lease_until},
                                   **{f":v{i}": v for i, v in enumerate(to_item(values).values())}},
    )


def get(bucket: str, object_key: str, version: str) -> FileProgress | None:
    item = dynamo.call("get_item", TableName=dynamo.table_name(), Key=file_key(bucket, object_key, version),
                       ConsistentRead=True).get("Item")
    if not item:
        return None
    data = from_item(item)
    return FileProgress(**{k: data[k] for k in FileProgress.__dataclass_fields__ if k in data})
