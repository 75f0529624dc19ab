"""`Contraction`: a sum of products of small labelled arrays, planned once, run many times.

`numpy.einsum` with `optimize` plans (or re-parses a given plan) at every call, about 50 us, and
its search costs more; the single-row walk runs the same few contractions with arrays of the
same shapes query after query. A `Contraction` is planned once for given labels and shapes: a
small one (`_DIRECT`) is a single einsum loop; a larger one's operands are joined pairwise,
greedily, the pair with the smallest result first, each result keeping only the labels still
needed (by another operand or the output). A join that sums over shared labels on more than
`_LOOP` multiply-adds is a matrix product (BLAS); the rest run as `einsum` without
optimisation (a direct C loop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from syncdx.network._network import FloatArray

#: Joins with at most this many multiply-adds run as one einsum loop, not a matrix product.
_LOOP = 1 << 12
#: A contraction whose labels have at most this many joint states is one einsum loop over
#: them all, unplanned: on mildew's, as fast as planned joins up to 2,048 states, 2x faster
#: below 256, and a plan costs about 25 us (a new pattern of a row's inputs needs one).
_DIRECT = 1 << 10

#: One join: (i, j, how, spec) of operands i < j; `how` is "einsum" (spec: subscripts) or
#: "matmul" (spec: each side's axis order and matrix shape, then the result's shape).
_Step = tuple[int, int, str, Any]


class Contraction:
    """The sum over every label not in `output` of the product of operands labelled `inputs`
    (one letter per axis) with the given `shapes`, as an array over `output` in its order."""

    __slots__ = ("_direct", "_final", "_reduce", "_steps")

    def __init__(
        self, inputs: Sequence[str], shapes: Sequence[tuple[int, ...]], output: str
    ) -> None:
        size: dict[str, int] = {}
        for held, shape in zip(inputs, shapes):
            size.update(zip(held, shape))
        self._reduce: list[tuple[int, str]] = []
        self._steps: list[_Step] = []
        self._final = ""
        # a small one is one einsum loop over every label: no faster planned, and not planned
        self._direct = ",".join(inputs) + "->" + output
        if math.prod(size.values()) > _DIRECT:
            self._direct = ""
            self._plan(list(inputs), output, size)

    def _plan(self, labels: list[str], output: str, size: dict[str, int]) -> None:
        """Set the joins: the search runs on bit masks of labels (a plan is made per new
        pattern of a row's inputs, so its cost is part of a query's), strings only for the
        joins chosen."""
        bit = {x: 1 << k for k, x in enumerate(size)}
        want = _mask(output, bit)
        masks = [_mask(own, bit) for own in labels]
        # labels only one operand holds and the output lacks are summed away first
        held, many, _ = _holders(masks)
        alone = held & ~many & ~want
        for i, own in enumerate(labels):
            if masks[i] & alone:
                kept = "".join(x for x in own if not bit[x] & alone)
                self._reduce.append((i, f"{own}->{kept}"))
                labels[i], masks[i] = kept, masks[i] & ~alone
        sizes = _Sizes(size, bit)
        while len(labels) > 1:
            i, j, needed = _cheapest(masks, want, sizes)
            a, b = labels[i], labels[j]
            union = a + b.translate({ord(x): None for x in a})
            how, spec, joined = _join(a, b, "".join(x for x in union if bit[x] & needed), size)
            self._steps.append((i, j, how, spec))
            del labels[j], labels[i], masks[j], masks[i]
            labels.append(joined)
            masks.append(_mask(joined, bit))
        self._final = f"{labels[0]}->{output}" if labels[0] != output else ""

    def __call__(self, operands: Sequence[FloatArray]) -> FloatArray:
        """The contraction of `operands` (arrays of the planned shapes)."""
        if self._direct:
            direct: FloatArray = np.einsum(self._direct, *operands)
            return direct
        ops = list(operands)
        for i, subscripts in self._reduce:
            ops[i] = np.einsum(subscripts, ops[i])
        for i, j, how, spec in self._steps:
            a, b = ops[i], ops[j]
            del ops[j], ops[i]
            if how == "einsum":
                ops.append(np.einsum(spec, a, b))
            else:
                side_a, side_b, shape = spec
                ops.append(np.matmul(_matrix(a, *side_a), _matrix(b, *side_b)).reshape(shape))
        out = ops[0]
        return np.einsum(self._final, out) if self._final else out


class _Sizes(dict[int, int]):
    """The joint states of a set of labels (a bit mask), remembered."""

    def __init__(self, size: dict[str, int], bit: dict[str, int]) -> None:
        super().__init__()
        self._each = [(bit[x], n) for x, n in size.items()]

    def __missing__(self, mask: int) -> int:
        out = self[mask] = math.prod(n for b, n in self._each if b & mask)
        return out


def _mask(labels: str, bit: dict[str, int]) -> int:
    out = 0
    for x in labels:
        out |= bit[x]
    return out


def _holders(masks: list[int]) -> tuple[int, int, int]:
    """The labels (a bit mask) held by at least one, two and three of the operands `masks`."""
    one = two = three = 0
    for mask in masks:
        three |= two & mask
        two |= one & mask
        one |= mask
    return one, two, three


def _cheapest(masks: list[int], want: int, sizes: _Sizes) -> tuple[int, int, int]:
    """The pair of operands (by their labels' masks) whose join is smallest (then takes the
    fewest multiply-adds), and the join's labels: theirs that another operand or the output
    (`want`) still needs."""
    _, many, more = _holders(masks)
    kept = want | more  # labels needed whatever the pair
    pairs = many & ~kept  # labels held by exactly two operands (and not wanted)
    best: tuple[int, int, int, int, int] | None = None
    for i, a in enumerate(masks):
        for j in range(i + 1, len(masks)):
            b = masks[j]
            union = a | b
            # a label two operands hold is still needed unless this pair is those two
            needed = union & (kept | (pairs & ~(a & b)))
            key = (sizes[needed], sizes[union])
            if best is None or key < best[:2]:
                best = (*key, i, j, needed)
    assert best is not None
    return best[2], best[3], best[4]


def _join(a: str, b: str, joined: str, size: dict[str, int]) -> tuple[str, Any, str]:
    """How to join operands labelled `a` and `b` into `joined`, and the result's labels: one
    einsum loop, or (a sum over shared labels of many multiply-adds) a batched matrix product
    with axes in the order (batch, own, summed) times (batch, summed, own)."""
    summed = "".join(x for x in a if x in b and x not in joined)
    work = _size(joined, size) * _size(summed, size)
    alone = any(x not in joined for x in (a + b) if x not in a or x not in b)
    if not summed or work <= _LOOP or alone:
        return "einsum", f"{a},{b}->{joined}", joined
    big = a if _size(a, size) >= _size(b, size) else b
    batch = "".join(x for x in big if x in a and x in b and x in joined)
    summed = "".join(x for x in big if x in summed)
    left = "".join(x for x in a if x not in b and x in joined)
    right = "".join(x for x in b if x not in a and x in joined)
    dims = [_size(s, size) for s in (batch, left, summed, right)]
    side_a = _side(a, batch, left, summed, (dims[0], dims[1], dims[2]))
    side_b = _side(b, batch, summed, right, (dims[0], dims[2], dims[3]))
    shape = tuple(size[x] for x in batch + left + right)
    return "matmul", (side_a, side_b, shape), batch + left + right


def _side(
    labels: str, batch: str, rows: str, cols: str, shape: tuple[int, int, int]
) -> tuple[tuple[int, ...] | None, tuple[int, int, int], bool]:
    """How an operand labelled `labels` becomes a (batch, rows, cols) stack of matrices: the
    axis order to copy it into (None: none needed), the stack's shape, and whether it is read
    as the transpose of a (batch, cols, rows) stack (a view: BLAS reads either layout)."""
    if labels == batch + rows + cols:
        return None, shape, False
    if labels == batch + cols + rows:
        return None, (shape[0], shape[2], shape[1]), True
    return tuple(labels.index(x) for x in batch + rows + cols), shape, False


def _matrix(
    array: FloatArray, order: tuple[int, ...] | None, shape: tuple[int, int, int], swap: bool
) -> FloatArray:
    """`array` as the stack of matrices `_side` planned."""
    if order is not None:
        array = array.transpose(order)
    stack = array.reshape(shape)
    return stack.swapaxes(1, 2) if swap else stack


def _size(labels: str, size: dict[str, int]) -> int:
    return math.prod(size[x] for x in labels)
