"""Response models: what they share (a base, the error bodies, Polar's page shape) and how they are loaded.

Each feature's schemas.py holds its request models (validated on every request) and its response models
(Polar's names: `Meter`, `Customer`, `ListResource[Meter]`). Response models describe what the API sends: the
OpenAPI document and the contract tests read them, the routes do not pass their output through them. So they
are built on first use, not at import: a feature's `_response_models()` defines them and the module's
`__getattr__` (PEP 562) hands them out, which keeps about 1 ms per model out of every Lambda's cold start
(docs/performance.md). `from functions.meters.schemas import Meter` works as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any


def lazy_models(define: Callable[[], dict[str, type]]) -> Callable[[str], Any]:
    """A module `__getattr__` that builds the models `define` returns on the first access to any of them."""
    defined = cache(define)

    def module_getattr(name: str) -> Any:
        if name.startswith("__"):  # dunder probes (copy, pickle, doctest, ...) must not build anything
            raise AttributeError(name)
        models = defined()
        if name not in models:
            raise AttributeError(name)
        return models[name]

    return module_getattr


def _response_models() -> dict[str, type]:
    from typing import Generic, TypeVar

    from pydantic import BaseModel, ConfigDict, Field

    class Schema(BaseModel):
        """Base of the response models."""

        model_config = ConfigDict(defer_build=True)

    class Error(Schema):
        """Every error but a validation error: `{"error": "ResourceNotFound", "detail": "meter not found"}`."""

        error: str = Field(examples=["ResourceNotFound"])
        detail: str

    class ValidationErrorDetail(Schema):
        loc: list[str | int] = Field(examples=[["body", "events", 0, "timestamp"]])
        msg: str
        type: str

    class RequestValidationError(Schema):
        """422: one entry per bad field (FastAPI's shape, which is what Polar answers)."""

        error: str = Field(examples=["RequestValidationError"])
        detail: list[ValidationErrorDetail]

    class Pagination(Schema):
        total_count: int
        max_page: int
        next_cursor: str | None = Field(None, description="Meterbill: where the next page starts (pass it as "
                                        "`cursor`), on listings read by key (a customer's events); else null")

    T = TypeVar("T")

    class ListResource(Schema, Generic[T]):
        """Polar's page: `{"items": [...], "pagination": {"total_count", "max_page"}}`."""

        items: list[T]
        pagination: Pagination

    return {"Schema": Schema, "Error": Error, "ValidationErrorDetail": ValidationErrorDetail,
            "RequestValidationError": RequestValidationError, "Pagination": Pagination,
            "ListResource": ListResource}


__getattr__ = lazy_models(_response_models)
