"""Belief mode: a large clique's belief formed once per pass, every output summed down from it.

In a batched run (see `_batch`) a large clique multiplies its table by every live input once
(`Product`: clique states x rows), and every outgoing message and marginal is summed down from
that belief (Hugin): a message to a neighbour whose own message is in the belief is divided by
it (0 where it is 0: the receiving side then has no mass there). Sums to several outputs share
their partial sums (`reductions`), so the clique is read about twice, not once per output. In
the collect pass the belief lacks only the message from the root's side; it is multiplied in,
in place, when that message arrives (`Multiply`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from syncdx.inference._kernels import Scratch
from syncdx.network._network import FloatArray

#: A tuple of a clique's variables, in clique order, whose joint states an output gives.
Segment = tuple[int, ...]
#: What a step returns per output: the row totals (None: not a normalised output) and values.
Output = tuple[FloatArray | None, FloatArray]


@dataclass(frozen=True, slots=True, eq=False)
class Product:
    """A clique's table times its live inputs: the (unnormalised) belief, clique axes then rows."""

    table: FloatArray  # the clique's table times its dead neighbours' prior messages, then (1,)
    shapes: tuple[tuple[int, ...], ...]  # each input reshaped to broadcast over the clique
    order: tuple[tuple[int, int], ...]  # pairs of inputs to multiply first (small products)
    last: tuple[int, ...]  # the operands then multiplied into the clique-sized result

    def __call__(self, inputs: Sequence[FloatArray], spare: Scratch) -> list[Output]:
        operands = [x.reshape(shape) for x, shape in zip(inputs, self.shapes)]
        for a, b in self.order:
            operands.append(operands[a] * operands[b])
        first, *rest = (operands[k] for k in self.last)
        dtype = np.result_type(self.table, first)
        out = spare.take((*self.table.shape[:-1], first.shape[-1]), dtype)
        np.multiply(self.table, first, out=out)
        for x in rest:
            out *= x
        return [(None, out)]


@dataclass(frozen=True, slots=True, eq=False)
class Multiply:
    """A belief (input 0) times a message (input 1), in place."""

    shape: tuple[int, ...]

    def __call__(self, inputs: Sequence[FloatArray], spare: Scratch) -> list[Output]:
        belief = inputs[0]
        belief *= inputs[1].reshape(self.shape)
        return [(None, belief)]


@dataclass(frozen=True, slots=True, eq=False)
class Reduce:
    """A belief (input 0) summed down to messages and marginals.

    Registers start with the belief; each op sums one register over some axes and appends the
    result. A message is a register times a constant (1 / the prior messages it holds) or
    divided by an input (the message from its receiver), normalised per row; the marginals are
    the registers of their segments, concatenated, over the belief's total.
    """

    ops: tuple[Op, ...]
    messages: tuple[tuple[int, FloatArray | None, int], ...]  # (register, factor, divisor input)
    marginals: tuple[int, ...] | None  # registers of the segments (None: no marginals output)
    total: int  # a register whose sum is the belief's total

    def __call__(self, inputs: Sequence[FloatArray], spare: Scratch) -> list[Output]:
        registers = [inputs[0]]
        rows = inputs[0].shape[-1]
        for source, grid, summed, merged, kept, _ in self.ops:
            x = registers[source].reshape(grid)
            buffer = spare.take((*kept, rows), x.dtype)
            np.add.reduce(x, axis=summed, out=buffer.reshape(merged))
            registers.append(buffer)
        return self.outputs(registers, inputs, spare, rows)

    def outputs(
        self, registers: list[FloatArray], inputs: Sequence[FloatArray], spare: Scratch, rows: int
    ) -> list[Output]:
        """The messages and marginals from the summed `registers` (register 0 the belief),
        each register after the first handed back to `spare`."""
        out: list[Output] = []
        for register, factor, divisor in self.messages:
            s = registers[register].reshape(-1, rows)
            message = np.empty(s.shape, s.dtype)
            if factor is not None:
                s = np.multiply(s, factor, out=message)
            if divisor >= 0:
                raised = _positive(inputs[divisor], spare)
                np.divide(s, raised, out=message)
                spare.give(raised)
            elif factor is None:
                message[...] = s
            total = np.add.reduce(message, axis=0)
            message *= 1.0 / total  # a message: see `Select`
            out.append((total, message))
        if self.marginals is not None:
            total = np.add.reduce(registers[self.total].reshape(-1, rows), axis=0)
            parts = [registers[r].reshape(-1, rows) for r in self.marginals]
            values = np.concatenate(parts) if parts else np.empty((0, rows), total.dtype)
            out.append((total, values / total))
        for array in registers[1:]:
            spare.give(array)
        return out


def _positive(q: FloatArray, spare: Scratch) -> FloatArray:
    """`q` with its zeros raised to the smallest positive number (a scratch copy): dividing a
    belief's sum by the message `q` that is a factor of the belief then gives 0 where `q` is
    0 (the sum is 0 there), with no masked division (several times slower)."""
    floor = np.finfo(q.dtype).smallest_subnormal
    raised = spare.take(q.shape, q.dtype)
    np.maximum(q, floor, out=raised)
    return raised


#: A sum: (source register, its shape with adjacent axes merged where all are summed or all
#: kept, the last merged with the rows (-1) if kept; the merged axes summed; the merged shape
#: kept; the kept shape before merging, without the rows; whether each axis is summed).
Shape = tuple[int, ...]
Op = tuple[int, Shape, Shape, Shape, Shape, tuple[bool, ...]]


def sum_op(source: int, shape: list[int], summed: list[bool]) -> Op:
    """The `Op` summing the flagged axes of `shape` (the rows axis after them, kept)."""
    grid: list[int] = []
    flags: list[bool] = []
    for n, flag in zip(shape, summed):
        if flags and flags[-1] == flag:
            grid[-1] *= n
        else:
            grid.append(n)
            flags.append(flag)
    if flags[-1]:
        grid.append(-1)
        flags.append(False)
    else:
        grid[-1] = -1
    axes = tuple(i for i, flag in enumerate(flags) if flag)
    merged = tuple(n for n, flag in zip(grid, flags) if not flag)
    kept = tuple(n for n, f in zip(shape, summed) if not f)
    return source, tuple(grid), axes, merged, kept, tuple(summed)


def reductions(
    own: Segment, cards: Sequence[int], wanted: Sequence[Segment]
) -> tuple[list[Op], dict[Segment, int]]:
    """The sums that take a belief over `own` to each `wanted` segment (a subset, in order),
    sharing partial sums: whatever no output needs is summed away first, then the variables are
    split in two halves of about equal size and each half's outputs come from its own partial
    sum, recursively. Returns the ops (as `Reduce.ops`) and each segment's register."""
    ops: list[Op] = []
    where: dict[Segment, int] = {}
    held = [own]  # each register's variables

    def size(register: int) -> int:
        return math.prod(cards[v] for v in held[register])

    def reduce(register: int, have: Segment, to: Segment) -> int:
        if to == have:
            return register
        # from the smallest sum made so far that holds every variable wanted
        covers = [r for r, vs in enumerate(held) if set(to) <= set(vs)]
        register = min(covers, key=size)
        have = held[register]
        if to == have:
            return register
        ops.append(sum_op(register, [cards[v] for v in have], [v not in to for v in have]))
        held.append(to)
        return len(ops)

    def split(register: int, have: Segment, todo: list[Segment]) -> None:
        for segment in todo:
            if segment == have:
                where[segment] = register
        todo = [s for s in dict.fromkeys(todo) if s != have]
        if len(todo) <= 1:
            where.update((s, reduce(register, have, s)) for s in todo)
            return
        union = tuple(v for v in have if any(v in s for s in todo))
        if union != have:
            split(reduce(register, have, union), union, todo)
            return
        logs = np.cumsum([math.log(cards[v]) for v in have])
        cut = int(np.argmin(np.abs(logs[:-1] - logs[-1] / 2))) + 1
        for half in (have[:cut], have[cut:]):
            inside = [s for s in todo if set(s) <= set(half)]
            if len(inside) == 1:
                where[inside[0]] = reduce(register, have, inside[0])
            elif inside:
                split(reduce(register, have, half), half, inside)
        for segment in todo:
            if segment not in where:
                where[segment] = reduce(register, have, segment)

    split(0, own, [s for s in wanted if s])
    smallest = min(range(len(held)), key=size)
    if () in wanted:
        where[()] = reduce(smallest, held[smallest], ())
    where[TOTAL] = smallest
    return ops, where


#: The key of `reductions`' register whose sum is the belief's total (the smallest).
TOTAL: Segment = (-1,)
