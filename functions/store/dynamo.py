"""The DynamoDB client and the translation of its failures into domain errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from functions.common import aws_clients
from functions.common.errors import Conflict, StoreRefused, Throttled
from functions.common.retry import pause_before_retry
from functions.common.settings import settings

THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


@cache
def client() -> Any:
    # The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB when set (the local stack), else from the region.
    # Requests are built by this package, never from user input shapes: botocore's parameter validation
    # would only re-check them, at a cost that grows with every event of a 1,000-event transaction.
    return aws_clients.client(
        "dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}, parameter_validation=False)
    )


def warm_up() -> None:
    """Build the client during a Lambda's init phase, before the heap is frozen (functions/common/runtime)."""
    client()


def table_name() -> str:
    return settings().table_name


class RequestCounter:
    """Counts the requests the store sends (benchmarks read it; it costs a dict increment)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def record(self, operation: str) -> None:
        self.counts[operation] = self.counts.get(operation, 0) + 1

    def reset(self) -> None:
        self.counts.clear()


requests = RequestCounter()


CONFLICT_RETRIES = 6  # jittered backoff from 10 ms: a transaction holds an item for milliseconds


def call(operation: str, **kwargs: Any) -> dict[str, Any]:
    """Every DynamoDB request goes through here: counted, and ClientError never escapes the store.

    A single-item write to an item that a transaction is writing at that moment is refused with
    TransactionConflictException (botocore does not retry it): it is retried here, since the refusal says nothing
    about the item and the conflicting transaction is over within milliseconds."""
    method: Callable[..., dict[str, Any]] = getattr(client(), operation)
    attempt = 0
    while True:
        requests.record(operation)
        try:
            with translated_errors_except("TransactionConflictException"):
                return method(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionConflictException":
                raise  # not contention: an error the store has no domain name for (AccessDenied, ...)
            if attempt == CONFLICT_RETRIES:
                raise Conflict("the item is being written by a transaction; retry") from exc
            pause_before_retry(attempt)
            attempt += 1


def transact(actions: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """One TransactWriteItems: the one way the store writes a transaction. None when it committed, else its
    cancellation reasons (one per action), which the caller reads into its domain error."""
    requests.record("transact_write_items")
    try:
        with translated_errors_except("TransactionCanceledException"):
            client().transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise  # an error the store has no domain name for: not a cancellation to read
        reasons = exc.response.get("CancellationReasons") or []
        if any(r.get("Code") in THROTTLING for r in reasons):
            raise Throttled("the store is throttling; retry with backoff") from exc
        return list(reasons)
    return None


def refused_condition_item(exc: Conflict) -> dict[str, Any]:
    """The item a conditional write was refused on, when the write asked for it
    (ReturnValuesOnConditionCheckFailure ALL_OLD); empty otherwise."""
    cause = exc.__cause__
    return (cause.response.get("Item") or {}) if isinstance(cause, ClientError) else {}


@contextmanager
def translated_errors() -> Iterator[None]:
    with translated_errors_except():
        yield


@contextmanager
def translated_errors_except(*passed_through: str) -> Iterator[None]:
    """Domain errors for ClientError, except the codes the caller reads itself (cancellation reasons)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in passed_through:
            raise
        if code in THROTTLING:
            raise Throttled("the store is throttling; retry with backoff") from exc
        if code in ("ConditionalCheckFailedException", "TransactionCanceledException",
                    "TransactionConflictException"):
            raise Conflict("the item changed or already exists") from exc
        if code == "ValidationException":  # the request itself is invalid: a fault of ours, never contention
            raise StoreRefused(f"the store refused the request: {exc.response['Error'].get('Message', '')}") from exc
        raise


def query_all(**kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = call("query", **kwargs)
        yield from page.get("Items", [])
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def batch_get(keys: list[dict[str, Any]], projection: str | None = None) -> list[dict[str, Any]]:
    """BatchGetItem for up to 100 keys, following UnprocessedKeys until every key is answered."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"Keys": keys, "ConsistentRead": True}
    if projection:
        request["ProjectionExpression"] = projection
    pending: dict[str, Any] = {table_name(): request}
    while pending:
        response = call("batch_get_item", RequestItems=pending)
        items.extend(response.get("Responses", {}).get(table_name(), []))
        pending = response.get("UnprocessedKeys") or {}
    return items


def batch_put(items: list[dict[str, Any]]) -> None:
    """Whole-item puts, 25 per BatchWriteItem, following UnprocessedItems until every item is written. Not a
    transaction: for writes that are idempotent on their own (the same item written again is the same)."""
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table_name(): [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while pending:
            pending = call("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
