"""Fewer garbage collections while an import runs.

An import allocates millions of short-lived container objects (rows, values, snapshots), and
CPython's cyclic collector, counting allocations, runs a young collection every 700 of them and,
as the heap grows, full ones that walk every live object: about 6% of a large import's time,
though nothing it frees is a cycle (reference counting frees the rows). The thresholds are
process-wide, so a counter keeps them raised while any import runs and restores them after the
last one; collection still happens, only less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between young collections while importing (CPython's default is 700).
IMPORT_THRESHOLD = 50_000

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's first threshold for the block (nesting and threads allowed)."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(IMPORT_THRESHOLD, _saved[0]), *_saved[1:])
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_saved)
