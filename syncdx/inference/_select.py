"""A message with many states as a sum, not a matrix product.

A message kernel (`_kernels.Kernel`) multiplies the product of its inputs by a dense
(1 + separator states) x (inputs' joint states) matrix. Where the inputs cover the whole
separator, that matrix is the clique table summed to the inputs' variables (row 0) spread over
the separator's states: one non-zero per column below row 0. The product then does that many
multiply-adds per entry where one is needed (win95pts: 65 x 128 for 128 useful), and a pass
of its own to form the inputs' product. `Select` instead multiplies the product by the table
and sums away the variables outside the separator, in one einsum with the product's last two
factors: about one pass over the inputs' joint states, whatever the separator's states.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from syncdx.inference._kernels import Kernel, Scratch
from syncdx.network._network import FloatArray

#: A message kernel with more rows (1 + separator states) than this is run as a `Select`, where
#: its matrix allows: every message over two states or more. Against 16 (paired single-thread
#: runs, CPU per row): alarm -18%, hepar2 -14 to -24%, child -27%, win95pts -3 to -13%,
#: hailfinder -4%; the sync model and insurance within noise.
SELECT_ROWS = 2


@dataclass(frozen=True, slots=True, eq=False)
class Select:
    """A message kernel's product of inputs times the table over their variables, summed over
    the variables outside the separator: (row totals, the message over the separator's joint
    states / the totals). The last two factors of the product (or the lone input) meet the
    table in one `einsum` (`spec`), which reads them once and writes only the message."""

    kernel: Kernel
    table: FloatArray  # over the inputs' variables of more than one state (clique order)
    spec: str  # einsum of the factors (`pair`) and the table to the message, rows last
    pair: tuple[int, ...]  # the operands it reads: the kernel's last pair, or its lone input
    shapes: tuple[tuple[int, ...], ...]  # each reshaped without its axes of one state

    def __call__(
        self, inputs: Sequence[FloatArray], scratch: Scratch
    ) -> list[tuple[FloatArray | None, FloatArray]]:
        operands = self.kernel.products(inputs, scratch, self.kernel.order[:-1])
        factors = [operands[k].reshape(shape) for k, shape in zip(self.pair, self.shapes)]
        out = np.einsum(self.spec, *factors, self.table)
        out = out.reshape(-1, out.shape[-1])
        for product in operands[len(inputs) :]:
            scratch.give(product)
        total = np.add.reduce(out, axis=0)
        # a message, only ever multiplied into others and normalised again at the end:
        # scaled by the reciprocals (a division cost twice the multiplication)
        # (0 and infinite totals give the division's NaN and zeros too)
        out *= 1.0 / total
        return [(total, out)]


@dataclass(frozen=True, slots=True, eq=False)
class Dense:
    """A message kernel that is a dense matrix product, its outputs scaled by the reciprocals
    of the totals (see `Select`) rather than divided by them as a kernel's marginals are."""

    kernel: Kernel

    def __call__(
        self, inputs: Sequence[FloatArray], scratch: Scratch
    ) -> list[tuple[FloatArray | None, FloatArray]]:
        operands = self.kernel.products(inputs, scratch)
        x = operands[-1]
        out = self.kernel.matrix @ x.reshape(-1, x.shape[-1])
        for product in operands[len(inputs) :]:
            scratch.give(product)
        rest = out[1:]
        rest *= 1.0 / out[0]
        return [(out[0], rest)]


def message_step(
    kernel: Kernel,
    own: tuple[int, ...],
    cards: Sequence[int],
    live: Sequence[tuple[int, ...]],
    separator: tuple[int, ...],
) -> Select | Dense | None:
    """The step of a message kernel: a `Select` where it can be one (see `select_step`), a
    `Dense` for a dense matrix product, else None (the kernel itself)."""
    select = select_step(kernel, own, cards, live, separator)
    if select is not None:
        return select
    return Dense(kernel) if not (kernel.subscripts or kernel.fused) else None


def select_step(
    kernel: Kernel,
    own: tuple[int, ...],
    cards: Sequence[int],
    live: Sequence[tuple[int, ...]],
    separator: tuple[int, ...],
) -> Select | None:
    """`kernel` (a message over `separator` from the clique `own`, with `live` input scopes)
    as a `Select`, or None where it has few rows, is not a dense matrix product or its inputs
    do not cover the separator."""
    if kernel.subscripts or kernel.matrix.shape[0] <= SELECT_ROWS or not kernel.shapes:
        return None
    grid = tuple(max(sizes) for sizes in zip(*(shape[:-1] for shape in kernel.shapes)))
    union = tuple(v for v in own if any(v in scope for scope in live))
    if len(union) != len(grid) or any(v not in union for v in separator):
        return None
    if tuple(v for v in union if v in separator) != separator:
        return None
    table = kernel.matrix[0].reshape(grid)
    # the matrix below row 0 must be the table spread over the separator's states
    index = np.zeros(grid, dtype=np.intp)
    for axis, v in enumerate(union):
        if v in separator:
            shape = [1] * len(grid)
            shape[axis] = cards[v]
            index = index * cards[v] + np.arange(cards[v]).reshape(shape)
    spread = np.zeros((math.prod(cards[v] for v in separator), table.size))
    spread[index.ravel(), np.arange(table.size)] = table.ravel()
    if not np.allclose(spread, kernel.matrix[1:], rtol=1e-12, atol=0.0):
        return None
    return _fused(kernel, table, tuple(v in separator for v in union))


def _fused(kernel: Kernel, table: FloatArray, kept: tuple[bool, ...]) -> Select | None:
    """The `Select` of `kernel` whose einsum multiplies its last two factors (or its lone
    input) by `table` (over the inputs' union) and sums away the axes not `kept`."""
    if table.ndim >= len(_LETTERS):
        return None
    shapes = [shape[:-1] for shape in kernel.shapes]
    for a, b in kernel.order:
        shapes.append(tuple(max(x, y) for x, y in zip(shapes[a], shapes[b])))
    pair = kernel.order[-1] if kernel.order else (0,)

    def labels(shape: tuple[int, ...], wanted: Sequence[bool] | None = None) -> str:
        every = (n > 1 and (wanted is None or wanted[a]) for a, n in enumerate(shape))
        return "".join(_LETTERS[a] for a, keep in enumerate(every) if keep)

    operands = [labels(shapes[k]) + _ROWS for k in pair]
    spec = ",".join([*operands, labels(table.shape)]) + "->" + labels(table.shape, kept) + _ROWS
    squeezed = tuple((*(n for n in shapes[k] if n > 1), -1) for k in pair)
    return Select(kernel, table.reshape([n for n in table.shape if n > 1]), spec, pair, squeezed)


#: einsum labels of a clique's axes, and of the rows
_LETTERS = string.ascii_letters[:-1]
_ROWS = string.ascii_letters[-1]
