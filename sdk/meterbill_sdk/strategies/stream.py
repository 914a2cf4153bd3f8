"""Stream strategy: count the bytes read from a file-like object or an iterator of chunks.

One event per stream, tracked once when it is exhausted or closed (whichever comes first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from meterbill_sdk.ingestion import IngestionBuffer
from meterbill_sdk.strategies import Customer, resolve


class MeteredStream:
    """Wraps `read`, `readline`, `readlines`, iteration and `iter_chunks`/`iter_lines` of a binary stream."""

    def __init__(self, raw: Any, on_done: Callable[[int], None]) -> None:
        self._raw, self._on_done = raw, on_done
        self.bytes_read = 0
        self._done = False

    def _count(self, data: Any) -> Any:
        if data:
            self.bytes_read += len(data)
        return data

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._on_done(self.bytes_read)

    def read(self, *args: Any) -> Any:
        data = self._raw.read(*args)
        if not data or (not args or args[0] is None or args[0] < 0):
            self._count(data)
            self._finish()
            return data
        return self._count(data)

    def readline(self, *args: Any) -> Any:
        line = self._raw.readline(*args)
        if not line:
            self._finish()
        return self._count(line)

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._raw:
            yield self._count(chunk)
        self._finish()

    def iter_chunks(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in self._raw.iter_chunks(*args, **kwargs):
            yield self._count(chunk)
        self._finish()

    def iter_lines(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for line in self._raw.iter_lines(*args, **kwargs):
            yield self._count(line)
        self._finish()

    def close(self) -> None:
        try:
            if hasattr(self._raw, "close"):
                self._raw.close()
        finally:
            self._finish()

    def __enter__(self) -> MeteredStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def metered_stream(raw: Any, buffer: IngestionBuffer, customer: Customer, event_name: str = "stream_bytes",
                   metadata: dict[str, Any] | None = None) -> MeteredStream:
    def done(size: int) -> None:
        buffer.track(event_name, external_customer_id=resolve(customer), metadata={"bytes": size, **(metadata or {})})

    return MeteredStream(raw, done)


def metered_iter(chunks: Iterable[bytes], buffer: IngestionBuffer, customer: Customer,
                 event_name: str = "stream_bytes", metadata: dict[str, Any] | None = None) -> Iterator[bytes]:
    total = 0
    try:
        for chunk in chunks:
            total += len(chunk)
            yield chunk
    finally:
        buffer.track(event_name, external_customer_id=resolve(customer), metadata={"bytes": total, **(metadata or {})})
