"""Batched runs on a compiled junction tree: plans cached per evidence variables and target
segments (see `_batch`), the kernels and tables their steps use, and a plan run on a batch,
cut into chunks that keep one clique's batched table near a million entries (at least one
chunk per worker), shared out evenly on the thread pool with one BLAS thread, when there are
several.

Inside a run the batch axis is last: every elementwise product then runs along contiguous
rows of the batch. Each kernel is cached per (clique, live input scopes, dead neighbours,
output), with a clique's own evidence in a fixed order, so plans share them. Caches are
emptied when full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import numpy as np

from syncdx.inference._batch import Plan, Planner, Spare
from syncdx.inference._belief import Segment
from syncdx.inference._kernels import Kernel, build_kernel
from syncdx.inference._tables import clique_table
from syncdx.inference._threads import WORKERS, one_blas_thread, pool
from syncdx.inference._tree import Cliques
from syncdx.network._network import FloatArray

#: Most table entries (rows x clique size) a batch chunk may hold in one clique, and no
#: more rows than leave a chunk for each worker when a batch has at least twice
#: `_SHARED_ROWS`. Chunks capped at 2,048 rows (so that a kernel's product stays in cache)
#: ran slower on two threads than chunks of a million entries: 20,000 rows of alarm in 10
#: chunks took 87 ms, in 4 chunks 67 (child 38 -> 30 ms; with one core free, the same time):
#: fewer chunks hand the GIL back and forth fewer times...
_CHUNK_ENTRIES = 1 << 20
_SHARED_ROWS = 1 << 11
#: ... unless that leaves fewer than `_CHUNK_ROWS` rows: then up to this many entries. Sums and
#: products along the batch axis run at memory speed only with a few dozen rows (4 rows in a
#: 262,144-entry clique ran at a quarter of it); with beliefs summed in cache-sized blocks
#: (`_blocked`), 128 rows ran 20% faster than 32 on pathfinder. Not more entries than this:
#: pigs' 90 rows in two chunks of 8M entries (a fresh 64 MB array each, no chunk after them
#: to reuse them) took twice the CPU of four chunks of 4M.
_CHUNK_MOST = 1 << 22
_CHUNK_ROWS = 128
#: A batch of fewer rows than a chunk is still shared out on the workers where it holds at
#: least this many clique entries (27 rows of diabetes ran on one core).
_SHARED_ENTRIES = 1 << 21
#: Batches of at least this many rows run with BLAS held to one thread (see _threads).
_BATCH_ROWS = 256
#: Most cached plans, kernels and tables before a cache is emptied.
_CACHE = 1 << 16
_NOTHING: FloatArray = np.empty(0)
#: What a plan computes: (the clique, the segments it gives) per target group.
Groups = Sequence[tuple[int, tuple[Segment, ...]]]


class BatchPass:
    """Batched runs on one tree's cliques: plans, kernels and tables built on first use."""

    def __init__(self, tree: Cliques, width: int) -> None:
        self._tree = tree
        self._width = width  # the largest clique table's entries
        self._plans: dict[tuple[object, ...], Plan] = {}
        self._kernels: dict[tuple[object, ...], Kernel | FloatArray] = {}

    def plan(
        self, key: tuple[object, ...], evidence: tuple[int, ...], groups: Callable[[], Groups]
    ) -> Plan:
        """The plan cached under `key`, else built for these evidence variables and the
        target `groups` (called only then)."""
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _CACHE:
                self._plans.clear()
            plan = Planner(self._tree, evidence, self.kernel, self.table).plan(groups())
            self._plans[key] = plan
        return plan

    def chunked(
        self, plan: Plan, likelihoods: Mapping[int, FloatArray], rows: int
    ) -> tuple[FloatArray, dict[Segment, FloatArray]]:
        """`steps` on chunks of a batch, on the thread pool with one BLAS thread if large (or
        if a chunk holds fewer rows than a small batch: 55 rows through barley's largest clique
        were 3 GB in one chunk). Each chunk writes its rows into arrays made once for the whole
        batch, (joint states, rows), returned transposed: no concatenation of the chunks."""
        width = self._width
        most = _CHUNK_ENTRIES // width
        if rows >= 2 * _SHARED_ROWS:  # fewer rows: two threads cost more than they give
            most = min(most, max(-(-rows // WORKERS), _SHARED_ROWS))
        step = max(1, most, min(_CHUNK_ROWS, _CHUNK_MOST // width))
        if rows <= step and rows * width >= _SHARED_ENTRIES and rows >= WORKERS:
            step = -(-rows // WORKERS)
        elif rows < _BATCH_ROWS and rows <= step:
            return self.steps(plan, list(likelihoods.values()), rows, Spare())
        step = _balanced(rows, step)
        chunks = [slice(i, min(i + step, rows)) for i in range(0, rows, step)]
        spare = Spare()  # the chunks reuse each other's large arrays
        log_z = np.empty(rows)
        out = {segment: np.empty((size, rows)) for segment, size in _segments(plan).items()}

        def run_chunk(chunk: slice) -> None:
            inputs = [lik[chunk] for lik in likelihoods.values()]
            into = (log_z[chunk], {k: v[:, chunk] for k, v in out.items()})
            self.steps(plan, inputs, chunk.stop - chunk.start, spare, into)

        with one_blas_thread():
            if len(chunks) == 1:
                run_chunk(chunks[0])
            else:
                for _ in pool().map(run_chunk, chunks):
                    pass
        return log_z, {k: v.T for k, v in out.items()}

    def steps(
        self,
        plan: Plan,
        likelihoods: list[FloatArray],
        rows: int,
        spare: Spare,
        into: tuple[FloatArray, dict[Segment, FloatArray]] | None = None,
    ) -> tuple[FloatArray, dict[tuple[int, ...], FloatArray]]:
        """log P(e) (NaN: to redo) and every planned segment's (rows, joint states) values;
        written into `into`'s arrays (log P(e), each segment's (joint states, rows)) if given."""
        slots = [_rows_last(lik) for lik in likelihoods]
        slots += [_NOTHING] * (plan.slots - len(slots))
        totals: list[FloatArray] = []  # the factors of P(e)
        every: list[FloatArray] = []  # every output's totals, checked for range at the end
        out: dict[tuple[int, ...], FloatArray] = {}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for call in plan.steps:
                results = call.step([slots[k] for k in call.inputs], spare)
                for (slot, on_path, columns), (total, values) in zip(call.outs, results):
                    if slot >= 0:
                        slots[slot] = values
                    if total is None:
                        continue
                    if on_path:
                        totals.append(total)
                    every.append(total)
                    for segment, start, stop in columns:
                        if into is None:
                            out[segment] = values[start:stop].T
                        else:
                            into[1][segment][...] = values[start:stop]
                for k in call.free:
                    spare.give(slots[k])
                    slots[k] = _NOTHING
            log_z = np.log(np.stack(totals)).sum(axis=0)
        log_z = np.where(np.isnan(log_z), -np.inf, log_z + plan.log_const)
        if self._tree.tiny:  # out of range: NaN, for the tree to redo; zero may be an underflow too
            stacked = np.stack(every)  # one reduction each, not two ufunc calls per output
            low, high = np.fmin.reduce(stacked, axis=0), np.fmax.reduce(stacked, axis=0)
            log_z[(low < self._tree.tiny) | (high == np.inf)] = np.nan
        if into is not None:
            into[0][...] = log_z
        return log_z, out

    def table(self, clique: int, dead: tuple[int, ...]) -> FloatArray:
        """The (cached) table of `clique` times the prior messages from `dead` neighbours."""
        key = ("table", clique, dead)
        table = self._kernels.get(key)
        if table is None:
            if len(self._kernels) >= _CACHE:
                self._kernels.clear()
            table = clique_table(
                self._tree.cliques, self._tree.base, self._tree.prior, clique, dead
            )
            self._kernels[key] = table
        return cast(FloatArray, table)

    def kernel(
        self,
        clique: int,
        live: tuple[tuple[int, ...], ...],
        dead: tuple[int, ...],
        out: int | tuple[tuple[int, ...], ...],
    ) -> Kernel:
        """The cached kernel of `clique` for live input scopes, prior-message neighbours `dead`
        and output `out`: a neighbour (a message to it) or a tuple of target segments."""
        key = (clique, live, dead, out)
        kernel = self._kernels.get(key)
        if not isinstance(kernel, Kernel):
            if len(self._kernels) >= _CACHE:
                self._kernels.clear()
            table = self.table(clique, dead)
            own = self._tree.cliques[clique]
            if isinstance(out, int):
                sep = self._tree.separators[(clique, out)]
                kernel = build_kernel(own, self._tree.cards, table, live, sep)
            else:
                kernel = build_kernel(own, self._tree.cards, table, live, None, out)
            self._kernels[key] = kernel
        return kernel


def _segments(plan: Plan) -> dict[Segment, int]:
    """Each segment a plan outputs and its joint states."""
    return {
        segment: stop - start
        for call in plan.steps
        for out in call.outs
        for segment, start, stop in out.columns
    }


def _balanced(rows: int, step: int) -> int:
    """At most `step` rows a chunk, so that a few chunks share out evenly on the workers (3
    equal chunks on 2 threads take as long as 4: 20,000 rows of alarm were cut 7,281 x 2 +
    5,438, 5,000 x 4 if balanced). Many chunks are left as they are."""
    chunks = -(-rows // step)
    if chunks <= 1 or chunks >= 8 * WORKERS:
        return step
    return -(-rows // (-(-chunks // WORKERS) * WORKERS))


def _rows_last(likelihood: FloatArray) -> FloatArray:
    """(rows, states) likelihoods as (states, rows) with contiguous rows: a view where the
    array is laid out so (see `_evidence.likelihoods`' `states_major`), else a copy."""
    view = likelihood.T
    if view.strides[-1] == view.itemsize or view.shape[-1] <= 1:
        return view
    return np.ascontiguousarray(view)
