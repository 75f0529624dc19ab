"""Kernels: one clique's part of a run, as a matrix product from its live inputs to its outputs.

A kernel's matrix is the clique table (times the prior messages of neighbours with no evidence
behind them) summed down to (joint states of the live inputs) x (outputs); column 0 holds each
row's total, so one product gives both an output and its normaliser. Where that dense matrix
would be large and mostly zero (inputs and output sharing many states), an `einsum` does it,
taking the last two factors of the inputs' product itself (one pass fewer over the union).
"""

from __future__ import annotations

import functools
import heapq
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from syncdx.inference._tables import axes, contract
from syncdx.network._network import FloatArray

#: A message kernel whose dense matrix would have more entries than this is an `einsum`.
_DENSE_ENTRIES = 1 << 13
#: A single-row clique table with at least this many entries is read by broadcasting its inputs
#: over its axes (a gather through a clique-sized index costs several times more per entry) and
#: summed down axis by axis, never by a dense matrix.
BROADCAST_ENTRIES = 1 << 15
#: A single-row table read by its axes with fewer entries than this is read whole at hard
#: findings, not sliced: slicing costs more than it saves (mildew's walked row 2.55 -> 2.4
#: CPU-ms; past a few thousand entries a slice at a finding of many states is cheaper).
_WHOLE_ENTRIES = 1 << 12
#: A marginals kernel whose dense matrix would have more entries than this is an `einsum` per
#: target (a dense one grows as the square of the states of a variable that is both evidence
#: and target: 12 GiB for 40,000 states).
_DENSE_TARGET_ENTRIES = 1 << 19


#: (axis, state) pairs of a single-row input that is zero off one state of each axis.
Fixed = tuple[tuple[int, int], ...]


class Scratch(Protocol):
    """Where a batched step takes its large temporary arrays from and hands them back."""

    def take(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """An array of that shape and type, its contents undefined."""

    def give(self, array: FloatArray) -> None:
        """Hand `array` back (no one may use it afterwards)."""


@dataclass(frozen=True, slots=True)
class Kernel:
    """One clique's live inputs -> (row totals, normalised outputs), with everything fixed.

    Batched arrays hold the batch on their *last* axis, so every elementwise product runs
    along contiguous rows of the batch. The inputs' product is formed pairwise in `order`,
    smallest results first, so the clique-sized array is built once.
    """

    shapes: tuple[tuple[int, ...], ...]  # reshape of each input to broadcast over the inputs' union
    matrix: FloatArray  # (1 + outputs, inputs' joint states): row 0 gives the total
    order: tuple[tuple[int, int], ...] = ()  # operand pairs to multiply; each result appended
    subscripts: str = ""  # for a large overlap: einsum of the inputs with `matrix` (no total)
    grid: tuple[int, ...] = ()  # for the einsum: (states of each input variable, -1)
    more: tuple[tuple[str, FloatArray], ...] = ()  # further einsums, their outputs appended
    #: for a lone einsum: the einsum of the last two operands of `order` (each reshaped to
    #: `last`) with `matrix`, which then multiplies them in one pass without their product
    fused: str = ""
    last: tuple[tuple[int, ...], ...] = ()

    def __call__(
        self, inputs: Sequence[FloatArray], scratch: Scratch | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Row totals (B,) and the outputs divided by them (outputs, B).

        With `scratch`, the products of the inputs go to arrays taken from it and handed back
        once used (a fresh large array costs a page fault per page: as much as the product)."""
        operands = self.products(inputs, scratch, self.order[:-1] if self.fused else self.order)
        made = len(inputs)
        if self.fused:
            (a, b), (one, two) = self.order[-1], self.last
            result = self._fused(operands[a].reshape(one), operands[b].reshape(two))
        else:
            result = self.contract(operands[-1])
        if scratch is not None:
            for product in operands[made:]:
                scratch.give(product)
        return result

    def products(
        self,
        inputs: Sequence[FloatArray],
        scratch: Scratch | None,
        order: Sequence[tuple[int, int]] | None = None,
    ) -> list[FloatArray]:
        """The inputs reshaped to broadcast over their union, then the products of the pairs
        in `order` (the kernel's own if None), each appended (into `scratch` arrays if given)."""
        operands = [x.reshape(shape) for x, shape in zip(inputs, self.shapes)]
        for a, b in self.order if order is None else order:
            operands.append(_multiply(operands[a], operands[b], scratch))
        return operands

    def contract(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Row totals and normalised outputs from the product `x` of the inputs (over their
        union's axes in clique order, rows last; size-1 axes anywhere before the rows)."""
        if self.subscripts:
            x = x.reshape(self.grid)
            out = np.einsum(self.subscripts, x, self.matrix)
            out = out.reshape(-1, out.shape[-1])
            total = np.add.reduce(out, axis=0)
            if self.more:
                outs = [np.einsum(s, x, m).reshape(-1, out.shape[-1]) for s, m in self.more]
                out = np.concatenate([out, *outs])
            return total, out / total
        out = self.matrix @ x.reshape(-1, x.shape[-1])
        rest = out[1:]
        # in place: the rows below the totals are not read again. Divided, not multiplied by
        # the reciprocals (faster): x * (1 / x) can miss 1.0 by an ulp, and a hard finding's
        # marginal must come out exactly one-hot (a certain cause's P(present) exactly 0)
        rest /= out[0]
        return out[0], rest

    def _fused(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Row totals and normalised outputs from the last two factors of the product."""
        out = np.einsum(self.fused, x, y, self.matrix)
        out = out.reshape(-1, out.shape[-1])
        total = np.add.reduce(out, axis=0)
        out /= total  # divided: exact at a certain state (see `__call__`)
        return total, out


def _multiply(x: FloatArray, y: FloatArray, scratch: Scratch | None) -> FloatArray:
    """x * y (broadcast), into an array from `scratch` if given."""
    if scratch is None or x.ndim != y.ndim:
        return x * y
    # the broadcast shape of equal-rank operands (np.broadcast_shapes cost 3-5 us a call)
    shape = tuple(b if a == 1 else a for a, b in zip(x.shape, y.shape))
    return np.multiply(x, y, out=scratch.take(shape, np.result_type(x, y)))


@dataclass(frozen=True, slots=True)
class RowKernel:
    """One clique's part of a single-row run: the product of its inputs, flat over the clique's
    joint states, times its whole table, summed down to the outputs (no live-set variants).
    """

    matrix: FloatArray  # (clique states, 1 + outputs), column 0 the total; else the table
    axes: tuple[tuple[int, ...], ...] = ()  # for a large table: per output, the axes summed away
    scale: FloatArray = field(default_factory=lambda: np.ones(1))  # multiplies those outputs

    def __call__(
        self, x: FloatArray | tuple[FloatArray, ...], fixed: Fixed = ()
    ) -> tuple[float, FloatArray]:
        """The row's total and its flat outputs divided by it (NaN if the total is not positive);
        `x` is flat over the clique's joint states, or (a large table) factors broadcasting over
        its axes. `fixed`: (axis, state) pairs where `x` is zero off that state (hard evidence
        behind it), so that the table is read only at that slice; one below `_WHOLE_ENTRIES`
        is read whole (its outputs are then exact at every fixed state, all that is read of
        them: see `_rowpass`), unless it may receive compact messages (`BROADCAST_ENTRIES`:
        one state at each fixed axis)."""
        if isinstance(x, tuple) or self.axes:
            factors = x if isinstance(x, tuple) else (x.reshape(self.matrix.shape),)
            if fixed and self.matrix.size >= min(_WHOLE_ENTRIES, BROADCAST_ENTRIES):
                outs = _sliced_sums(factors, self.matrix, self.axes, fixed)
            else:
                outs = _sums(factors, self.matrix, self.axes)
            total = float(outs[0].sum())
            out = (outs[0] if len(outs) == 1 else np.concatenate(outs)) * self.scale
        else:
            out = x.dot(self.matrix)
            total = float(out[0])
            out = out[1:]
        return total, out / total if total > 0.0 else np.full_like(out, np.nan)


def row_kernel(
    table: FloatArray, segments: Sequence[tuple[int, ...]], scale: FloatArray | None = None
) -> RowKernel:
    """A `RowKernel` from the clique's full `table` to the joint states of each segment (a
    tuple of axes, in table order), concatenated; a lone segment's outputs are multiplied by
    `scale`. A large table is summed down per segment (linear in its size), not made into a
    (clique states x outputs) matrix, which would grow as the square of a variable's states."""
    dense = table.size * (1 + sum(math.prod(table.shape[a] for a in s) for s in segments))
    if table.size >= BROADCAST_ENTRIES or (segments and dense > _DENSE_ENTRIES << 2):
        segments = segments or [()]  # no outputs: the total alone
        axes = tuple(tuple(a for a in range(table.ndim) if a not in seg) for seg in segments)
        return RowKernel(table, axes, np.ones(1) if scale is None else scale.ravel())
    flat = table.ravel()
    columns = [flat[:, None]]
    for segment in segments:
        index = np.ravel_multi_index(np.indices(table.shape)[list(segment)], _dims(segment, table))
        block = np.zeros((flat.size, math.prod(_dims(segment, table))))
        block[np.arange(flat.size), index.ravel()] = flat
        columns.append(block if scale is None else block * scale.ravel())
    return RowKernel(np.ascontiguousarray(np.hstack(columns)))


def _sums(
    factors: tuple[FloatArray, ...], table: FloatArray, axes: tuple[tuple[int, ...], ...]
) -> list[FloatArray]:
    """The product of `factors` (each broadcasting over `table`) and `table`, summed over
    each tuple of `axes`, flat, by `einsum` (no clique-sized product in between: a quarter of
    the time). Several one-axis marginals (a belief's targets) come from halving: the sums
    over the axes no marginal keeps, then of that over each half of the kept axes, and so on,
    instead of a pass over the clique each."""
    if table.ndim > len(string.ascii_letters):
        y = math.prod(factors, start=table)
        return [np.add.reduce(y, axis=summed).ravel() for summed in axes]
    squeezed, sums, halved = _sum_spec(tuple(f.shape for f in factors), table.ndim, axes)
    # each factor over its own axes only: einsum runs ~1.5x faster without broadcast axes
    operands = [f.reshape(shape) for f, shape in zip(factors, squeezed)]
    if not halved:
        return [np.einsum(spec, *operands, table).ravel() for spec in sums]
    marginal = _halves(np.einsum(sums[0], *operands, table))
    return [marginal[k] for k in halved]


@functools.lru_cache(maxsize=1 << 12)
def _sum_spec(
    shapes: tuple[tuple[int, ...], ...], ndim: int, axes: tuple[tuple[int, ...], ...]
) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...], tuple[int, ...]]:
    """How `_sums` reads factors of these `shapes` (made once per pattern: its strings were a
    fifth of a small kernel's call): each factor's shape without its broadcast axes, the
    einsum subscripts of each output (or, when `halved` lists each output's place among the
    one-axis marginals of a single einsum, that einsum's)."""
    every = string.ascii_letters[:ndim]
    subscripts = ["".join(every[a] for a, n in enumerate(shape) if n > 1) for shape in shapes]
    squeezed = tuple(tuple(n for n in shape if n > 1) for shape in shapes)
    inputs = ",".join([*subscripts, every])
    kept = ["".join(every[a] for a in range(ndim) if a not in s) for s in axes]
    if len(axes) < 3 or any(len(k) != 1 for k in kept):
        return squeezed, tuple(f"{inputs}->{k}" for k in kept), ()
    wanted = "".join(sorted(set("".join(kept)), key=every.index))
    return squeezed, (f"{inputs}->{wanted}",), tuple(wanted.index(k) for k in kept)


def _sliced_sums(
    factors: tuple[FloatArray, ...],
    table: FloatArray,
    axes: tuple[tuple[int, ...], ...],
    fixed: Fixed,
) -> list[FloatArray]:
    """`_sums` where the product of `factors` is zero off one state of each `fixed` axis: the
    sums over that slice of the table (views, nothing copied), each output spread back over
    its full axes with zeros off the fixed states. Exact: the entries left out are zeros."""
    cut: list[slice] = [slice(None)] * table.ndim
    for axis, state in fixed:
        cut[axis] = slice(state, state + 1)
    sliced = tuple(
        f[tuple(c if n > 1 else slice(None) for c, n in zip(cut, f.shape))] for f in factors
    )
    outs = _sums(sliced, table[tuple(cut)], axes)
    full = []
    for summed, out in zip(axes, outs):
        kept = [a for a in range(table.ndim) if a not in summed]
        if all(cut[a].stop is None for a in kept):
            full.append(out)
            continue
        spread = np.zeros([table.shape[a] for a in kept], dtype=out.dtype)
        spread[tuple(cut[a] for a in kept)] = out.reshape(
            [table.shape[a] if cut[a].stop is None else 1 for a in kept]
        )
        full.append(spread.ravel())
    return full


def _halves(y: FloatArray) -> list[FloatArray]:
    """The one-axis marginals of `y`, axis by axis, by summing away each half of the axes."""
    if y.ndim == 1:
        return [y]
    half = y.ndim // 2
    left = np.add.reduce(y, axis=tuple(range(half, y.ndim)))
    right = np.add.reduce(y, axis=tuple(range(half)))
    return [*_halves(left), *_halves(right)]


def message_row_kernel(
    table: FloatArray, own: tuple[int, ...], separator: tuple[int, ...], prior: FloatArray
) -> RowKernel:
    """The `RowKernel` of a message over `separator` (a subset of `own`, in its order), output
    as its ratio to the `prior` message (0 where that is 0)."""
    scale = np.divide(1.0, prior, out=np.zeros_like(prior), where=prior > 0)
    return row_kernel(table, [tuple(own.index(v) for v in separator)], scale)


def spread(
    cards: Sequence[int], clique: tuple[int, ...], scope: tuple[int, ...]
) -> npt.NDArray[np.intp]:
    """For each joint state of `clique`, the index of its restriction to `scope` (a subset)
    among the joint states of `scope`: a vector over `scope` indexed by it covers the clique."""
    shape = tuple(cards[v] for v in clique)
    index = np.zeros([1] * len(clique), dtype=np.intp)  # broadcast: one clique-sized array
    for v in scope:
        axis = [1] * len(clique)
        axis[clique.index(v)] = cards[v]
        index = index * cards[v] + np.arange(cards[v]).reshape(axis)
    return np.broadcast_to(index, shape).ravel()


def _dims(segment: tuple[int, ...], table: FloatArray) -> tuple[int, ...]:
    return tuple(table.shape[a] for a in segment)


def product_order(scopes: Sequence[frozenset[int]], cards: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs of operands to multiply, the pair with the smallest result first (each result is
    appended to the operands), until one operand covers every scope. A heap of candidate
    pairs, each product's new pairs pushed as it is made: a clique with a thousand inputs (a
    cause with a thousand children) is ordered in O(n^2 log n), not O(n^3)."""
    operands, live, order = list(scopes), set(range(len(scopes))), []

    def size(a: int, b: int) -> int:
        return math.prod(cards[v] for v in operands[a] | operands[b])

    heap = [(size(a, b), a, b) for a in range(len(operands)) for b in range(a + 1, len(operands))]
    heapq.heapify(heap)
    while len(live) > 1:
        _, a, b = heapq.heappop(heap)
        if a not in live or b not in live:
            continue
        order.append((a, b))
        operands.append(operands[a] | operands[b])
        live -= {a, b}
        new = len(operands) - 1
        for other in sorted(live):
            heapq.heappush(heap, (size(other, new), other, new))
        live.add(new)
    return order


def build_kernel(
    own: tuple[int, ...],
    cards: Sequence[int],
    table: FloatArray,
    live: tuple[tuple[int, ...], ...],
    separator: tuple[int, ...] | None,
    targets: tuple[tuple[int, ...], ...] = (),
) -> Kernel:
    """`table` (over the clique `own`) as a map from the `live` input scopes to either the
    joint states of `separator` (a message) or else to each target segment's joint states
    (marginals: a segment is one variable, or several in clique order)."""
    operands: list[Any] = [table, list(range(table.ndim))]
    union = tuple(v for v in own if any(v in scope for scope in live))
    shapes = tuple((*(cards[v] if v in scope else 1 for v in union), -1) for scope in live)
    order = tuple(product_order([frozenset(scope) for scope in live], cards))
    rows = math.prod(cards[v] for v in union)
    segments = [separator] if separator is not None else list(targets)
    dense = rows * sum(math.prod(cards[v] for v in segment) for segment in segments)
    if dense > (_DENSE_ENTRIES if separator is not None else _DENSE_TARGET_ENTRIES):
        kernel = _einsum_kernel(operands, own, union, segments, shapes, order)
        return _fuse_last(kernel, own, live, cards) if order and not kernel.more else kernel
    columns = [contract(operands, axes(own, union)).reshape(rows, 1)]
    for segment in segments:
        columns.append(_diagonal(operands, own, union, segment, cards).reshape(rows, -1))
    return Kernel(shapes, np.ascontiguousarray(np.hstack(columns).T), order)


def _einsum_kernel(
    operands: list[Any],
    own: tuple[int, ...],
    union: tuple[int, ...],
    segments: Sequence[tuple[int, ...]],
    shapes: tuple[tuple[int, ...], ...],
    order: tuple[tuple[int, int], ...],
) -> Kernel:
    """A kernel that contracts the inputs' joint table with the clique's, by `einsum`, once
    per output segment (the first segment's outputs also give the total)."""
    letters = {v: string.ascii_letters[i] for i, v in enumerate(own)}
    parts = []
    for segment in segments:
        kept = tuple(v for v in own if v in union or v in segment)
        subscripts = "{}...,{}->{}...".format(
            *("".join(letters[v] for v in vs) for vs in (union, kept, segment))
        )
        parts.append((subscripts, contract(operands, axes(own, kept))))
    grid = (*(operands[0].shape[own.index(v)] for v in union), -1)
    (subscripts, matrix), *more = parts
    return Kernel(shapes, matrix, order, subscripts, grid, tuple(more))


def _fuse_last(
    kernel: Kernel, own: tuple[int, ...], live: tuple[tuple[int, ...], ...], cards: Sequence[int]
) -> Kernel:
    """`kernel` (a lone einsum) with its last product done inside its einsum."""
    letters = {v: string.ascii_letters[i] for i, v in enumerate(own)}
    scopes = [set(scope) for scope in live]
    for a, b in kernel.order:
        scopes.append(scopes[a] | scopes[b])
    a, b = kernel.order[-1]
    kept = [tuple(v for v in own if v in scopes[k]) for k in (a, b)]
    matrix, segment = kernel.subscripts.split(",")[1].split("->")
    fused = "{}...,{}...,{}->{}".format(
        *("".join(letters[v] for v in vs) for vs in kept), matrix, segment
    )
    last = tuple((*(cards[v] for v in vs), -1) for vs in kept)
    return Kernel(
        kernel.shapes, kernel.matrix, kernel.order, kernel.subscripts, kernel.grid, (), fused, last
    )


def _diagonal(
    operands: list[Any],
    own: tuple[int, ...],
    union: tuple[int, ...],
    segment: tuple[int, ...],
    cards: Sequence[int],
) -> FloatArray:
    """The table summed to (union, segment) axes, with a variable in both kept equal."""
    extra: list[Any] = []
    labels: list[int] = []
    for v in segment:
        if v in union:
            copy = len(own) + len(labels)
            extra += [np.eye(cards[v]), [own.index(v), copy]]
            labels.append(copy)
        else:
            labels.append(own.index(v))
    return contract([*operands, *extra], [*axes(own, union), *labels])
