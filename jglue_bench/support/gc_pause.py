"""Python's cyclic garbage collector paused while many small objects are made at once."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """Tuples of examples and lists of token ids make no cycles, yet every few hundred of them set off a
    collection that walks every object of the process (torch and transformers hold millions): on JSTS train's
    12,451 cached examples, 60 ms of collections against 8 ms of work; up to a third of a large split's
    encoding time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
