"""Kernels: one clique's part of a run, as a matrix product from its live inputs to its outputs.

A kernel's matrix is the clique table (times the prior messages of neighbours with no evidence
behind them) summed down to (joint states of the live inputs) x (outputs); column 0 holds each
row's total, so one product gives both an output and its normaliser. Where that dense matrix
would be large and mostly zero (inputs and output sharing many states), an `einsum` does it.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from syncdx.network import FloatArray

#: A message kernel whose dense matrix would have more entries than this is an `einsum`.
_DENSE_ENTRIES = 1 << 13


@dataclass(frozen=True, slots=True)
class Kernel:
    """One clique's live inputs -> (row totals, normalised outputs), with everything fixed."""

    shapes: tuple[tuple[int, ...], ...]  # reshape of each input to broadcast over the inputs' union
    matrix: FloatArray  # (inputs' joint states, 1 + outputs): column 0 gives the total
    subscripts: str = ""  # for a large overlap: einsum of the inputs with `matrix` (no total)
    grid: tuple[int, ...] = ()  # for the einsum: (-1, states of each input variable)

    def __call__(self, inputs: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray]:
        """Row totals (B,) and the outputs divided by them (B, outputs)."""
        x = inputs[0] if len(inputs) == 1 else _outer(inputs, self.shapes)
        if self.subscripts:
            out = np.einsum(self.subscripts, x.reshape(self.grid), self.matrix)
            out = out.reshape(x.shape[0], -1)
            total = np.add.reduce(out, axis=1)
            return total, out / total[:, None]
        out = x @ self.matrix
        total = out[:, 0]
        return total, out[:, 1:] / total[:, None]


def _outer(inputs: Sequence[FloatArray], shapes: Sequence[tuple[int, ...]]) -> FloatArray:
    """Product of the inputs broadcast over the union of their scopes, flattened per row."""
    x = inputs[0].reshape(shapes[0])
    for lik, shape in zip(inputs[1:], shapes[1:]):
        x = x * lik.reshape(shape)
    return x.reshape(x.shape[0], -1)


def build_kernel(
    own: tuple[int, ...],
    cards: Sequence[int],
    table: FloatArray,
    live: tuple[tuple[int, ...], ...],
    separator: tuple[int, ...] | None,
    targets: tuple[int, ...] = (),
) -> Kernel:
    """`table` (over the clique `own`) as a map from the `live` input scopes to either the
    joint states of `separator` (a message) or else to each target's states (marginals)."""
    operands: list[Any] = [table, list(range(table.ndim))]
    union = tuple(v for v in own if any(v in scope for scope in live))
    shapes = tuple((-1, *(cards[v] if v in scope else 1 for v in union)) for scope in live)
    rows = math.prod(cards[v] for v in union)
    segments = [separator] if separator is not None else [(v,) for v in targets]
    dense = rows * sum(math.prod(cards[v] for v in segment) for segment in segments)
    if separator is not None and dense > _DENSE_ENTRIES:
        return _einsum_kernel(operands, own, union, separator, shapes)
    columns = [contract(operands, axes(own, union)).reshape(rows, 1)]
    for segment in segments:
        columns.append(_diagonal(operands, own, union, segment, cards).reshape(rows, -1))
    return Kernel(shapes, np.ascontiguousarray(np.hstack(columns)))


def _einsum_kernel(
    operands: list[Any],
    own: tuple[int, ...],
    union: tuple[int, ...],
    segment: tuple[int, ...],
    shapes: tuple[tuple[int, ...], ...],
) -> Kernel:
    """A kernel that contracts the inputs' joint table with the clique's, by `einsum`."""
    kept = tuple(v for v in own if v in union or v in segment)
    letters = {v: string.ascii_letters[i] for i, v in enumerate(own)}
    subscripts = "...{},{}->...{}".format(
        *("".join(letters[v] for v in vs) for vs in (union, kept, segment))
    )
    matrix = contract(operands, axes(own, kept))
    grid = (-1, *(matrix.shape[kept.index(v)] for v in union))
    return Kernel(shapes, matrix, subscripts, grid)


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


def contract(operands: list[Any], axes: list[int]) -> FloatArray:
    return np.asarray(np.einsum(*operands, axes, optimize=True), dtype=np.float64)


def axes(own: tuple[int, ...], variables: Iterable[int]) -> list[int]:
    return [own.index(v) for v in variables]
