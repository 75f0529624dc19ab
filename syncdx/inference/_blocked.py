"""Belief mode in blocks: a large clique's belief formed and summed down a few of its leading
axes' states at a time, each block staying in the core's cache from its first product to its
last sum.

Formed whole (see `_belief`), the belief of a large clique over a chunk of rows is tens of
megabytes, and each product into it and each sum out of it is a pass through memory: on andes,
3 products and 3 sums over 32 MB for every 32 rows. `Blocked` runs a `Reduce` on a belief
that is formed (`Product`), multiplied by the message it lacked (`Multiply`) or read as it
is, block by block: memory is then read about once, and the belief written only where a later
step reads it. The sums out of the belief add each block's part into their registers; sums out
of those registers run afterwards, as `Reduce` runs them.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from syncdx.inference._belief import Op, Output, Product, Reduce, sum_op
from syncdx.inference._kernels import Scratch
from syncdx.network._network import FloatArray

#: A block of the belief (its states x rows) holds at most this many bytes (a core's L2
#: cache holds it with the inputs' blocks and the sums' parts), unless a single state of the
#: leading axis holds more.
BLOCK_BYTES = 1 << 19


@dataclass(frozen=True, slots=True, eq=False)
class Blocked:
    """`reduce`'s outputs from a belief made block by block: `form` (a `Product`) of the
    first inputs, else input 0 times input 1 reshaped to `shape` (the message a collect
    belief lacked), else input 0 as it is. The inputs after those are `reduce`'s after its
    belief. With `keep`, the formed belief is also written whole and returned first."""

    reduce: Reduce
    form: Product | None = None
    shape: tuple[int, ...] | None = None
    keep: bool = False

    def __call__(self, inputs: Sequence[FloatArray], spare: Scratch) -> list[Output]:
        used = len(self.form.shapes) if self.form is not None else 1 + (self.shape is not None)
        factors, belief = self._factors(inputs[:used])
        rows = factors[-1].shape[-1]
        dtype = np.result_type(*factors)
        cards = tuple((factors[0] if belief is None else belief).shape[:-1])
        lead = _lead(cards, rows * dtype.itemsize)
        if self.keep and belief is None:
            belief = spare.take((*cards, rows), dtype)
        specs = _blocks(tuple(op[5] if op[0] == 0 else None for op in self.reduce.ops), cards, lead)
        sums = [
            None if spec is None else spare.take((*op[4], rows), dtype)
            for op, spec in zip(self.reduce.ops, specs)
        ]
        scratch = np.empty((*cards[lead:], rows), dtype)
        parts = [None if s is None else np.empty(s[5] * rows, dtype) for s in specs]
        for index in itertools.product(*(range(n) for n in cards[:lead])):
            block = self._block(factors, belief, index, scratch)
            for spec, total, part in zip(specs, sums, parts):
                if spec is not None and total is not None and part is not None:
                    _add(block, spec, index, total, part)
        registers: list[FloatArray] = [_NOTHING if belief is None else belief]
        for op, total in zip(self.reduce.ops, sums):
            registers.append(_summed(registers, op, rows, spare) if total is None else total)
        out = self.reduce.outputs(registers, [registers[0], *inputs[used:]], spare, rows)
        return [(None, registers[0]), *out] if self.keep else out

    def _factors(self, inputs: Sequence[FloatArray]) -> tuple[list[FloatArray], FloatArray | None]:
        """What each block multiplies (broadcasting over the clique's axes, rows last), and
        the belief read (None: formed here)."""
        form = self.form
        if form is None:
            belief = inputs[0]
            if self.shape is None:
                return [belief], belief
            return [belief, inputs[1].reshape(self.shape)], belief
        operands = [x.reshape(shape) for x, shape in zip(inputs, form.shapes)]
        for a, b in form.order:
            operands.append(operands[a] * operands[b])
        return [form.table, *(operands[k] for k in form.last)], None

    def _block(
        self,
        factors: list[FloatArray],
        belief: FloatArray | None,
        index: tuple[int, ...],
        scratch: FloatArray,
    ) -> FloatArray:
        """The belief's block at `index` (of its leading axes)."""
        if self.form is None and self.shape is None:
            return _at(factors[0], index)
        into = scratch if belief is None or not self.keep else belief[index]
        if self.form is None:  # the collect belief (factor 0) times the message it lacked
            np.multiply(_at(factors[0], index), _at(factors[1], index), out=into)
            return into
        table, first, *rest = factors
        np.multiply(_at(table, index), _at(first, index), out=into)
        for x in rest:
            np.multiply(into, _at(x, index), out=into)
        return into


#: How one sum out of the belief reads a block: the block's shape merged as `Op` has it, the
#: merged axes summed, the merged shape of the part, the leading axes kept and summed, and the
#: part's states.
Spec = tuple[
    tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], int
]


@functools.lru_cache(maxsize=1 << 10)
def _blocks(
    flags: tuple[tuple[bool, ...] | None, ...], cards: tuple[int, ...], lead: int
) -> tuple[Spec | None, ...]:
    """Per op (None: not a sum out of the belief), how it reads a block of `lead` axes."""
    specs: list[Spec | None] = []
    for summed in flags:
        if summed is None:
            specs.append(None)
            continue
        _, grid, axes, merged, part, _ = sum_op(0, list(cards[lead:]), list(summed[lead:]))
        kept = tuple(a for a in range(lead) if not summed[a])
        lead_summed = tuple(a for a in range(lead) if summed[a])
        specs.append((grid, axes, merged, kept, lead_summed, math.prod(part)))
    return tuple(specs)


def _add(
    block: FloatArray, spec: Spec, index: tuple[int, ...], total: FloatArray, part: FloatArray
) -> None:
    """Add the block's part of one sum into `total` (the sum's register), written rather than
    added at the first block reaching each of its entries."""
    grid, axes, merged, kept, summed, _ = spec
    lead = total.reshape(*(total.shape[a] for a in range(len(kept))), -1) if kept else total
    into = lead[tuple(index[a] for a in kept)] if kept else lead
    x = block.reshape(grid)
    if all(index[a] == 0 for a in summed):
        np.add.reduce(x, axis=axes, out=into.reshape(merged))
        return
    np.add.reduce(x, axis=axes, out=part.reshape(merged))
    flat = into.reshape(-1)
    np.add(flat, part, out=flat)


def _summed(registers: list[FloatArray], op: Op, rows: int, spare: Scratch) -> FloatArray:
    """The register of an op summing an earlier register (not the belief)."""
    source, grid, summed, merged, kept, _ = op
    x = registers[source].reshape(grid)
    buffer = spare.take((*kept, rows), x.dtype)
    np.add.reduce(x, axis=summed, out=buffer.reshape(merged))
    return buffer


def _at(x: FloatArray, index: tuple[int, ...]) -> FloatArray:
    """`x` (broadcasting over the clique's axes) at `index` of the leading axes."""
    view: FloatArray = x[tuple(i if n > 1 else 0 for i, n in zip(index, x.shape))]
    return view


def _lead(cards: tuple[int, ...], row_bytes: int) -> int:
    """How many leading axes a block iterates over: the fewest leaving at most `BLOCK_BYTES`
    (never all of them)."""
    for lead in range(len(cards)):
        if math.prod(cards[lead:]) * row_bytes <= BLOCK_BYTES:
            return lead
    return max(0, len(cards) - 1)


_NOTHING: FloatArray = np.empty(0)
