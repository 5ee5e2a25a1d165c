"""Garbage-collector settings for the hot paths: the worker and `timeline rebuild`.

Both allocate a few short-lived objects per record while holding many
long-lived ones (tables, the view). With CPython's default thresholds the
cyclic collector runs every 700 allocations and rescans the survivors, which
was a large share of the per-event cost (bench/profile_live.py and the
replay profile). Reference counting still frees almost everything at once;
only reference cycles wait for the (rarer) collections.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 100)


def collect_less_often() -> None:
    """Freeze what exists now (start-up objects are never rescanned) and raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """`collect_less_often` for one piece of work; the previous thresholds come back after it."""
    previous = gc.get_threshold()
    collect_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
