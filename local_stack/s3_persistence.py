"""Keeps moto's S3 objects on disk, so that buckets survive a restart of the local stack as they would in AWS.

moto's server keeps S3 in memory. The edge calls `saved(bucket, key)` after every successful write it forwards;
the key's versions (moto's own objects, which pickle with their bytes and version ids) are written to one file
per key before the edge answers, so an object a client was told is stored is on disk. At start-up the files are
loaded back into moto's backend, version ids and all. moto runs in this process, which is what makes this
possible; queues and the bus are not kept (docs/local-stack.md).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from pathlib import Path
from typing import Any

from local_stack.template import ACCOUNT


def _backend() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT]["global"]


class S3Persistence:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def _path(self, bucket: str, key: str) -> Path:
        return self.directory / (hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest() + ".pickle")

    def saved(self, bucket: str, key: str) -> None:
        with self.lock:
            found = _backend().buckets.get(bucket)
            path = self._path(bucket, key)
            versions = found.keys.getlist(key, []) if found is not None else []
            if not versions:
                path.unlink(missing_ok=True)
                return
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(pickle.dumps((bucket, key, list(versions))))
            temporary.replace(path)

    def restore(self) -> int:
        """Loads every kept key into the (already created) buckets; returns how many keys."""
        restored = 0
        backend = _backend()
        for path in self.directory.glob("*.pickle"):
            bucket, key, versions = pickle.loads(path.read_bytes())
            if bucket in backend.buckets:
                backend.buckets[bucket].keys.setlist(key, versions)
                restored += 1
        return restored
