"""Delta-time strategy: the elapsed time of a block or a function call, as an `elapsed_time` event.

    with elapsed(buffer, "customer-1", label="render"):
        ...

    @elapsed(buffer, lambda: current_customer(), label="resize")
    def resize(...): ...

    @elapsed(buffer, "customer-1")
    async def transcribe(...): ...   # the time until the coroutine finishes, not the time to create it

    async with elapsed(buffer, "customer-1"): ...

`seconds` is measured with a monotonic clock; the event is tracked even when the block raises.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve


class elapsed:  # noqa: N801 - used as a context manager and a decorator, like contextlib's
    def __init__(self, buffer: IngestionBuffer, customer: Customer, label: str = "",
                 event_name: str = "elapsed_time") -> None:
        self.buffer, self.customer, self.label, self.event_name = buffer, customer, label, event_name
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> elapsed:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self.buffer.track(self.event_name, external_customer_id=resolve(self.customer),
                          metadata={"seconds": round(self.seconds, 6), "label": self.label})

    async def __aenter__(self) -> elapsed:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(function):
            # Calling an async function only creates its coroutine: time the await, not the call.
            @functools.wraps(function)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with elapsed(self.buffer, self.customer, self.label or function.__name__, self.event_name):
                    return await function(*args, **kwargs)

            return timed_async

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with elapsed(self.buffer, self.customer, self.label or function.__name__, self.event_name):
                return function(*args, **kwargs)

        return timed
