"""Pieces of output made on a few threads, handed back in order.

Turning a chunk of scored rows into CSV text is Arrow and NumPy kernels, which release the GIL:
made two pieces at a time, the text of a chunk takes half the wall time when a core is free (at
the end of a file, when nothing is left to score), and the same CPU time otherwise.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Threads that make pieces of output (one: in the caller's thread, none started).
WORKERS = max(1, min(2, os.cpu_count() or 1))
#: Pieces made ahead of the one being handed back: bounds the memory they hold.
AHEAD = 4


@cache
def _pool() -> ThreadPoolExecutor:
    """The threads that make pieces, started on first use."""
    return ThreadPoolExecutor(WORKERS, thread_name_prefix="syncdx-format")


def ordered(make: Callable[[T], R], items: Iterable[T], ahead: int = AHEAD) -> Iterator[R]:
    """`make(item)` for each of `items`, in order, made on `WORKERS` threads, at most `ahead`
    pieces in hand; an error in one is raised when its turn comes (the rest are cancelled)."""
    todo = iter(items)
    if WORKERS == 1:
        yield from map(make, todo)
        return
    pending: deque[Future[R]] = deque()
    try:
        for item in todo:
            pending.append(_pool().submit(make, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def both(first: Callable[[], R], second: Callable[[], R]) -> tuple[R, R]:
    """`first()` and `second()`, the second on another thread while the first runs here."""
    if WORKERS == 1:
        return first(), second()
    later = _pool().submit(second)
    try:
        return first(), later.result()
    finally:
        later.cancel()
