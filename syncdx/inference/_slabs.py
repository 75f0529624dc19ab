"""A large clique's belief formed and summed slab by slab, so it never leaves the cache.

A belief-mode clique (see `_batch`) holds (clique states x rows) entries: 262,144 x 32 rows
is 64 MiB on andes. Formed whole, then summed, every product and every sum is a pass through
main memory (five or six per pass over the tree). A `Front` instead walks the clique's leading
axes: each slab (a fixed state of those axes, the other axes and the rows) is the table's slab
times each input's, made in a cache-sized buffer, and every sum the messages and marginals
start from takes its share of it at once (written where it keeps the slab's states, added
where it sums them away). The whole belief is written out only when a later pass needs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from syncdx.network._network import FloatArray

#: Most entries (states x rows) of one slab: with its inputs' slabs, well inside a core's L2.
SLAB_ENTRIES = 1 << 16

#: A sum: (source register, its shape with adjacent axes merged where all are summed or all
#: kept, the last merged with the rows (-1) if kept; the merged axes summed; the merged shape
#: kept; the kept shape before merging, without the rows).
Op = tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


class Scratch(Protocol):
    """Where a step takes its large temporary arrays from and hands them back."""

    def take(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """An array of that shape and type, its contents undefined."""

    def give(self, array: FloatArray) -> None:
        """Hand `array` back (no one may use it afterwards)."""


def op(source: int, shape: Sequence[int], summed: Sequence[bool]) -> Op:
    """The `Op` summing the flagged axes of `shape` (the rows axis after them, kept)."""
    grid: list[int] = []
    flags: list[bool] = []
    for n, flag in zip(shape, summed):
        if flags and flags[-1] == flag:
            grid[-1] *= n
        else:
            grid.append(n)
            flags.append(flag)
    if not flags or flags[-1]:
        grid.append(-1)
        flags.append(False)
    else:
        grid[-1] = -1
    axes = tuple(i for i, flag in enumerate(flags) if flag)
    merged = tuple(n for n, flag in zip(grid, flags) if not flag)
    return source, tuple(grid), axes, merged, tuple(n for n, f in zip(shape, summed) if not f)


#: How one sum reads a slab: the slab axes it keeps and sums (positions in the slab's index),
#: then the slab's shape as merged for the sum, the merged axes summed and the merged kept shape.
_Layout = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True, eq=False)
class Front:
    """How a belief step forms its clique's belief and the sums read straight from it.

    The belief is `table` (no rows) times the factor inputs, or (no table) input 0, a belief
    formed in an earlier pass, times them. Each of `sums` (summed-axis flags over the clique)
    becomes an array (kept states x rows)."""

    cards: tuple[int, ...]  # the clique's shape
    table: FloatArray | None  # (*cards, 1): the clique's table; None: input 0 is the belief
    shapes: tuple[tuple[int, ...], ...]  # each factor input reshaped to broadcast over the clique
    order: tuple[tuple[int, int], ...]  # pairs of factors to multiply first (small products)
    last: tuple[int, ...]  # the factors then multiplied slab by slab
    sums: tuple[tuple[bool, ...], ...]  # per sum, whether each clique axis is summed away
    keep: bool  # whether the whole belief is returned (a later pass needs it)
    _layouts: dict[int, tuple[int, tuple[_Layout, ...]]] = field(default_factory=dict)

    def __call__(
        self, inputs: Sequence[FloatArray], spare: Scratch
    ) -> tuple[FloatArray | None, list[FloatArray]]:
        """The whole belief (None unless kept) and each sum's (*kept states, rows) array."""
        start = 0 if self.table is not None else 1
        base = self.table if self.table is not None else inputs[0]
        operands = [x.reshape(s) for x, s in zip(inputs[start:], self.shapes)]
        for a, b in self.order:
            operands.append(operands[a] * operands[b])
        factors = [operands[k] for k in self.last]
        rows = inputs[0].shape[-1]
        dtype = np.result_type(base, *factors)
        prefix, layouts = self._layout(rows)
        outs = [spare.take((*_kept(self.cards, f), rows), dtype) for f in self.sums]
        belief = None
        if self.keep:
            belief = base if self.table is None else spare.take((*self.cards, rows), dtype)
        buffer = spare.take((*self.cards[prefix:], rows), dtype) if belief is None else None
        parts = [  # where a slab's share is summed before it is added (not the first slab)
            spare.take(_share(out, layout), dtype) if layout[1] and layout[3] else None
            for out, layout in zip(outs, layouts)
        ]
        for index in np.ndindex(*self.cards[:prefix]):
            y = belief[index] if belief is not None else buffer
            assert y is not None
            _form(y, base[index], [f[_at(f, index)] for f in factors])
            for out, layout, part in zip(outs, layouts, parts):
                _add(out, y, index, layout, part)
        for array in (buffer, *parts):
            if array is not None:
                spare.give(array)
        return belief, outs

    def _layout(self, rows: int) -> tuple[int, tuple[_Layout, ...]]:
        """How many leading axes make the slabs for `rows` rows, and how each sum reads them."""
        found = self._layouts.get(rows)
        if found is None:
            cards, prefix = self.cards, 0
            while prefix < len(cards) - 1 and math.prod(cards[prefix:]) * rows > SLAB_ENTRIES:
                prefix += 1
            layouts = []
            for summed in self.sums:
                kept = tuple(a for a in range(prefix) if not summed[a])
                away = tuple(a for a in range(prefix) if summed[a])
                _, grid, axes, merged, _ = op(0, cards[prefix:], summed[prefix:])
                layouts.append((kept, away, grid, axes, merged))
            found = self._layouts[rows] = (prefix, tuple(layouts))
        return found


def _kept(cards: tuple[int, ...], summed: tuple[bool, ...]) -> tuple[int, ...]:
    return tuple(n for n, flag in zip(cards, summed) if not flag)


def _at(factor: FloatArray, index: tuple[int, ...]) -> tuple[int, ...]:
    """`index` into the leading axes of a factor that broadcasts over the clique."""
    return tuple(i if factor.shape[a] > 1 else 0 for a, i in enumerate(index))


def _form(y: FloatArray, base: FloatArray, factors: list[FloatArray]) -> None:
    """`y` = `base` times every factor (`y` may be `base` itself)."""
    if not factors:
        if not np.may_share_memory(y, base):  # else it is the belief itself, in place
            np.copyto(y, base)
        return
    np.multiply(base, factors[0], out=y)
    for f in factors[1:]:
        y *= f


def _share(out: FloatArray, layout: _Layout) -> tuple[int, ...]:
    """The shape of one slab's share of the sum `out`."""
    return out.shape[len(layout[0]) :]


def _add(
    out: FloatArray,
    y: FloatArray,
    index: tuple[int, ...],
    layout: _Layout,
    part: FloatArray | None,
) -> None:
    """A slab's share of a sum: written into `out` at the slab's kept states the first time
    they are met, added to it afterwards (summed in `part` first, if it sums any axis)."""
    kept, away, grid, axes, merged = layout
    view = out[tuple(index[a] for a in kept)]
    first = all(index[a] == 0 for a in away)
    if not axes:  # the slab's share is the slab itself
        if first:
            np.copyto(view, y.reshape(view.shape))
        else:
            view += y.reshape(view.shape)
    elif first:
        np.add.reduce(y.reshape(grid), axis=axes, out=view.reshape(merged))
    else:
        assert part is not None
        np.add.reduce(y.reshape(grid), axis=axes, out=part.reshape(merged))
        view += part
