"""One error model: every domain error carries its HTTP status; one handler renders them all."""

from __future__ import annotations

from typing import Any


class MeterbillError(Exception):
    status = 500
    error = "InternalError"
    retry_after: int | None = None  # seconds, sent as Retry-After when the caller should simply try again

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


class Unauthorized(MeterbillError):
    status = 401
    error = "Unauthorized"


class Forbidden(MeterbillError):
    status = 403
    error = "Forbidden"


class NotFound(MeterbillError):
    status = 404
    error = "ResourceNotFound"


class Conflict(MeterbillError):
    """A write lost a race or broke a uniqueness rule."""

    status = 409
    error = "Conflict"


class Contention(Conflict):
    """Concurrent writers kept moving what this request read (a retry succeeds; ingest is idempotent)."""

    retry_after = 1


class AlreadyExists(Conflict):
    """A uniqueness rule held: `fields` name what is already taken (a customer's `external_id`, a discount's
    `code`). The store raises it; the service names the request's field (a 422, as Polar answers)."""

    def __init__(self, entity: str, fields: list[str]) -> None:
        super().__init__(f"a {entity} with this {' and '.join(fields)} already exists")
        self.entity = entity
        self.fields = fields


class PeriodClosed(Conflict):
    """A write reached aggregates whose period is closed (invoiced): `keys` name them, (customer, meter,
    period start). Nothing of the write was applied; ingest counts its events in the open period instead."""

    def __init__(self, keys: set[tuple[str, str, str]]) -> None:
        super().__init__(f"the period of {len(keys)} aggregate(s) is closed")
        self.keys = keys


class Exhausted(Conflict):
    """A counted resource has none left (a discount's redemptions)."""


class InvalidTransition(Conflict):
    """An entity cannot move to the state asked from the one it is in (an invoice's status)."""


class Refused(MeterbillError):
    """A refusal Polar's API names with an error type of its own (`AlreadyCanceledSubscription`,
    `OrderNotEligibleForInvoice`, ...), so that polar-sdk raises its matching typed exception."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error


class Throttled(MeterbillError):
    status = 429
    error = "TooManyRequests"
    retry_after = 1


class StoreRefused(MeterbillError):
    """DynamoDB refused a write as invalid (ValidationException): a fault of ours, never contention, so it is
    not retried; input rules (e.g. the metered-number rule) exist so that this cannot happen."""


class ValidationFailed(MeterbillError):
    """422 with one entry per bad field, FastAPI's shape (what Polar returns)."""

    status = 422
    error = "RequestValidationError"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("validation failed")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.errors}


def field_error(loc: list[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}
