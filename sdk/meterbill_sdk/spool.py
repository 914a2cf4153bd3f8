"""The on-disk spool: unsent events kept across an outage longer than the retries, and across a restart.

One file per batch, `<nanoseconds>-<buffer>-<n>.ndjson`, one encoded event (with its `external_id`) per line,
so the oldest file sorts first. A file is written to `.tmp`, fsynced and renamed: a crash leaves a whole file
or none. Bounded by `max_bytes` over the directory.

Several processes may share one directory: a sender holds an exclusive `flock` on a file while it sends it and
deletes it before letting go; a file whose sender died is unlocked by the kernel and sent again by the next
one. Sending a file twice is harmless: every event carries its `external_id`, so the API counts it once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no flock; one process per spool directory there
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("meterbill_sdk")
SUFFIX = ".ndjson"
STALE_TMP_SECONDS = 600  # a .tmp this old belongs to a writer that died mid-write


class Claim:
    """A spool file held by this process while it is being sent."""

    def __init__(self, path: Path, handle: IO[bytes], lines: list[str]) -> None:
        self.path, self._handle, self.lines = path, handle, lines

    def done(self) -> None:
        """Every line was answered by the API: the file goes."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.release()

    def keep(self, lines: list[str]) -> None:
        """Some lines are still unsent: the file keeps only those (rewritten in place, atomically)."""
        if lines != self.lines:
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as out:
                out.write(("\n".join(lines) + "\n").encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        self.release()

    def release(self) -> None:
        self._handle.close()  # closing drops the flock


class Spool:
    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._writer = uuid.uuid4().hex[:12]
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._remove_stale_tmp()

    def _remove_stale_tmp(self) -> None:
        for path in self.directory.glob("*.tmp"):
            try:
                if time.time() - path.stat().st_mtime > STALE_TMP_SECONDS:
                    path.unlink()
            except OSError:
                pass

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*" + SUFFIX))

    def size(self) -> int:
        total = 0
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def write(self, lines: list[str]) -> bool:
        """Keep these encoded events on disk. False when the spool is full (nothing written)."""
        data = ("\n".join(lines) + "\n").encode()
        with self._lock:
            if self.size() + len(data) > self.max_bytes:
                return False
            name = f"{time.time_ns():020d}-{self._writer}-{next(self._numbers):08d}{SUFFIX}"
            tmp = self.directory / (name + ".tmp")
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.directory / name)
        return True

    def claim(self, path: Path) -> Claim | None:
        """Hold one file for sending; None if another process holds it or it is already gone."""
        try:
            handle: Any = open(path, "rb")  # noqa: SIM115 - stays open: it holds the flock until done()
        except FileNotFoundError:
            return None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return None
            if os.fstat(handle.fileno()).st_nlink == 0:  # sent and deleted by another process meanwhile
                handle.close()
                return None
        lines = [line for line in handle.read().decode().splitlines() if line.strip()]
        return Claim(path, handle, lines)

    def pending_events(self) -> int:
        """Events on disk (a line count: reads the files; for tests and diagnostics, not the hot path)."""
        count = 0
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                count += sum(1 for line in path.read_bytes().splitlines() if line.strip())
        return count
