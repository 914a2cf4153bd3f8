"""Process-level settings every Lambda applies once, in its init phase."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def init_phase() -> Iterator[None]:
    """Wraps a handler module's imports and setup (what Lambda's init phase runs). The collector is off while
    they run, and everything they built is then frozen: moved out of the collector's reach for good.

    Frozen, because a full collection that walks those objects (botocore's service models, pydantic schemas)
    during a request is an 80 ms pause in a 1,000-event ingest (benchmarks/ingest.py). Off meanwhile, because
    the heap only grows during the imports: each automatic collection would walk objects about to be frozen
    (about 30 ms of a cold start). And no full collection before the freeze: the imports leave little cyclic
    garbage (about 2,000 memory blocks, measured), which is not worth the 30-60 ms a walk of the whole heap
    costs; frozen, that garbage stays, as a few hundred KB.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for one request (the ingest's): a 1,000-event request allocates tens of
    thousands of containers (and botocore as many again), nearly all freed by reference counting as soon as
    they are done with, so the hundred or so young-generation collections they would trigger (counted: about 93
    a request) find almost nothing to collect; about 1 us an event less, measured. The request leaves no cycles
    of its own; whatever it does leave is collected after it, by the first collection the next allocations
    trigger."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
