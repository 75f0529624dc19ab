"""A message with many states as a sum, not a matrix product.

A message kernel (`_kernels.Kernel`) multiplies the product of its inputs by a dense
(1 + separator states) x (inputs' joint states) matrix. Where the inputs cover the whole
separator, that matrix is the clique table summed to the inputs' variables (row 0) spread over
the separator's states: one non-zero per column below row 0. With many separator states the
product then does that many multiply-adds per entry where one is needed (win95pts: 65 x 128
for 128 useful). `Select` instead multiplies the product by the table and sums away the
variables outside the separator: about three passes over the product, whatever the states.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from syncdx.inference._kernels import Kernel, Scratch
from syncdx.network._network import FloatArray

#: A message kernel with more rows (1 + separator states) than this is run as a `Select`, where
#: its matrix allows (a dense product costs about this many passes over its input).
SELECT_ROWS = 16


@dataclass(frozen=True, slots=True, eq=False)
class Select:
    """A message kernel's product of inputs times the table over their variables, summed over
    `summed` axes: (row totals, the message over the separator's joint states / the totals)."""

    kernel: Kernel
    table: FloatArray  # over the inputs' variables (clique order), then a rows axis of 1
    summed: tuple[int, ...]  # the axes of the inputs' variables outside the separator

    def __call__(
        self, inputs: Sequence[FloatArray], scratch: Scratch
    ) -> list[tuple[FloatArray | None, FloatArray]]:
        operands = self.kernel.products(inputs, scratch)
        made = len(inputs)
        x = operands[-1]
        if len(operands) > made:
            x *= self.table  # a product of our own: scaled in place
        else:
            x = x * self.table
        out = np.add.reduce(x, axis=self.summed).reshape(-1, x.shape[-1])
        for product in operands[made:]:
            scratch.give(product)
        total = np.add.reduce(out, axis=0)
        out /= total  # divided: exact at a certain state (see `Kernel.__call__`)
        return [(total, out)]


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
    summed = tuple(axis for axis, v in enumerate(union) if v not in separator)
    return Select(kernel, table.reshape(*grid, 1), summed)
