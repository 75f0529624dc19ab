"""How batched inference uses the machine's cores.

The engine's matrix products are small (a few hundred columns): BLAS's own threads cost more
than they give there, so a large batch instead runs its chunks on a few Python threads (numpy
releases the GIL inside its kernels) while BLAS is held to one thread. Measured on the sync
model, 20,000 rows on 2 cores: 57k rows/s with BLAS threads, 103k with one BLAS thread,
125-140k with chunks on two threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Any

#: Threads that run a large batch's chunks.
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: A job of at least this many cells (rows x columns) is shared out on the threads.
SHARED_CELLS = 1 << 17


@cache
def pool() -> ThreadPoolExecutor:
    """The engine's thread pool, started on first use."""
    return ThreadPoolExecutor(WORKERS, thread_name_prefix="syncdx")


def share_out(work: Callable[[int], None], count: int, cells: int) -> None:
    """`work(i)` for every i below `count`: on the engine's threads, a strided share each,
    where the job holds at least `SHARED_CELLS` cells (the work must release the GIL to gain
    from it, as numpy and pyarrow do), else here, in order."""
    if cells < SHARED_CELLS or WORKERS == 1 or count < 2:
        for i in range(count):
            work(i)
        return

    def run(share: range) -> None:
        for i in share:
            work(i)

    for _ in pool().map(run, [range(k, count, WORKERS) for k in range(WORKERS)]):
        pass


@cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class _Hold:
    """Process-wide BLAS limit shared by overlapping batches: set by the first, lifted by the
    last (a plain `limit` per batch would let one batch's end restore BLAS under another)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.limiter: Any = None


_HOLD = _Hold()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold BLAS to one thread (process-wide) for the duration."""
    with _HOLD.lock:
        if _HOLD.holders == 0:
            _HOLD.limiter = _controller().limit(limits=1, user_api="blas")
        _HOLD.holders += 1
    try:
        yield
    finally:
        with _HOLD.lock:
            _HOLD.holders -= 1
            if _HOLD.holders == 0:
                _HOLD.limiter.restore_original_limits()
