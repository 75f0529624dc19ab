"""The batched run's plan: which messages and beliefs to compute, in order, for fixed evidence
variables and targets, and the steps that compute them.

The plan is one collect pass towards a root clique (the first target's) and one distribute pass
away from it, visiting only the messages with evidence behind them that lead to a target. A
clique works in one of two ways:

- kernel mode (small cliques): each message or set of marginals is one `Kernel`, a matrix
  product from the joint states of its live inputs (see `_kernels`);
- belief mode (large cliques): the clique's belief is formed once per pass (its table times
  every live input, clique states x rows), and every outgoing message and marginal is summed
  down from it (Hugin): a message to a neighbour whose own message is in the belief is divided
  by it (0 where it is 0: the receiving side then has no mass there). Sums to several outputs
  share their partial sums (`_reductions`), so a clique is read about twice, not once per
  output. In the collect pass the belief lacks only the message from the root's side; it is
  multiplied in, in place, when that message arrives.

Every output is keyed by its segment: a tuple of the clique's variables, in clique order, whose
joint states it gives (a single variable's marginal, or a family's joint).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from syncdx.inference._kernels import Kernel, product_order
from syncdx.inference._select import Select, select_step
from syncdx.inference._tree import Cliques, Edge
from syncdx.inference._triangulate import live_inward, towards
from syncdx.network._network import FloatArray

#: A clique with at least this many joint states runs in belief mode.
BELIEF_ENTRIES = 1 << 11
#: Arrays of at least this many entries are reused between steps and chunks (`Spare`): a fresh
#: large array costs a page fault per page, several times the product that fills it.
_SPARE_ENTRIES = 1 << 15


class Spare:
    """Large arrays a run's steps hand back for reuse, by shape and type (thread-safe)."""

    def __init__(self) -> None:
        self._free: dict[tuple[tuple[int, ...], np.dtype[Any]], list[FloatArray]] = {}
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """An array of that shape and type, its contents undefined."""
        if math.prod(shape) >= _SPARE_ENTRIES:
            with self._lock:
                free = self._free.get((shape, dtype))
                if free:
                    return free.pop()
        return np.empty(shape, dtype)

    def give(self, array: FloatArray) -> None:
        """Hand `array` back (no one may use it afterwards)."""
        if array.size >= _SPARE_ENTRIES and array.flags.c_contiguous:
            with self._lock:
                self._free.setdefault((array.shape, array.dtype), []).append(array)


Segment = tuple[int, ...]
#: (segment, start, stop) rows of a step's output holding that segment's joint states.
Columns = tuple[tuple[Segment, int, int], ...]
#: What a step returns per output: the row totals (None: not a normalised output) and values.
Output = tuple[FloatArray | None, FloatArray]
#: The cached kernel of (clique, live scopes, dead neighbours, neighbour or target segments).
KernelOf = Callable[[int, tuple[Segment, ...], tuple[int, ...], int | tuple[Segment, ...]], Kernel]


class Out(NamedTuple):
    """Where one output of a step goes: its slot (-1: none), whether its total is a factor of
    P(e), and the segments it holds."""

    slot: int
    on_path: bool
    columns: Columns


@dataclass(frozen=True, slots=True)
class Call:
    """Run `step` on the given slots; route its outputs; then empty the `free` slots."""

    step: Callable[[Sequence[FloatArray], Spare], list[Output]]
    inputs: tuple[int, ...]
    outs: tuple[Out, ...]
    free: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps of one batched run, the slots they use and the log scale of the prior
    messages on the way to the P(e) clique."""

    steps: tuple[Call, ...]
    slots: int
    log_const: float


@dataclass(frozen=True, slots=True, eq=False)
class _One:
    """A kernel as a step with one output."""

    kernel: Kernel

    def __call__(self, inputs: Sequence[FloatArray], spare: Spare) -> list[Output]:
        return [self.kernel(inputs, spare)]


@dataclass(frozen=True, slots=True, eq=False)
class Product:
    """A clique's table times its live inputs: the (unnormalised) belief, clique axes then rows."""

    table: FloatArray  # the clique's table times its dead neighbours' prior messages, then (1,)
    shapes: tuple[tuple[int, ...], ...]  # each input reshaped to broadcast over the clique
    order: tuple[tuple[int, int], ...]  # pairs of inputs to multiply first (small products)
    last: tuple[int, ...]  # the operands then multiplied into the clique-sized result

    def __call__(self, inputs: Sequence[FloatArray], spare: Spare) -> list[Output]:
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

    def __call__(self, inputs: Sequence[FloatArray], spare: Spare) -> list[Output]:
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

    def __call__(self, inputs: Sequence[FloatArray], spare: Spare) -> list[Output]:
        registers = [inputs[0]]
        rows = inputs[0].shape[-1]
        for source, grid, summed, merged, kept in self.ops:
            x = registers[source].reshape(grid)
            buffer = spare.take((*kept, rows), x.dtype)
            np.add.reduce(x, axis=summed, out=buffer.reshape(merged))
            registers.append(buffer)
        out: list[Output] = []
        for register, factor, divisor in self.messages:
            s = registers[register].reshape(-1, rows)
            if factor is not None:
                s = s * factor
            if divisor >= 0:
                q = inputs[divisor]
                s = np.divide(s, q, out=np.zeros(s.shape, s.dtype), where=q > 0)
            total = np.add.reduce(s, axis=0)
            out.append((total, s / total))
        if self.marginals is not None:
            total = np.add.reduce(registers[self.total].reshape(-1, rows), axis=0)
            parts = [registers[r].reshape(-1, rows) for r in self.marginals]
            values = np.concatenate(parts) if parts else np.empty((0, rows), total.dtype)
            out.append((total, values / total))
        for array in registers[1:]:
            spare.give(array)
        return out


#: A sum: (source register, its shape with adjacent axes merged where all are summed or all
#: kept, the last merged with the rows (-1) if kept; the merged axes summed; the merged shape
#: kept; the kept shape before merging, without the rows).
Op = tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def _op(source: int, shape: list[int], summed: list[bool]) -> Op:
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
    return source, tuple(grid), axes, merged, tuple(n for n, f in zip(shape, summed) if not f)


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

    def reduce(register: int, have: Segment, to: Segment) -> int:
        if to == have:
            return register
        ops.append(_op(register, [cards[v] for v in have], [v not in to for v in have]))
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
    smallest = min(range(len(held)), key=lambda r: math.prod(cards[v] for v in held[r]))
    if () in wanted:
        where[()] = reduce(smallest, held[smallest], ())
    where[TOTAL] = smallest
    return ops, where


#: The key of `reductions`' register whose sum is the belief's total (the smallest).
TOTAL: Segment = (-1,)


class Planner:
    """Works out a batched run's steps for fixed evidence variables (see the module's notes)."""

    def __init__(
        self,
        tree: Cliques,
        evidence: tuple[int, ...],
        kernel: KernelOf,
        table: Callable[[int, tuple[int, ...]], FloatArray],
    ) -> None:
        self.tree, self.kernel, self.table = tree, kernel, table
        self.position = {v: i for i, v in enumerate(evidence)}
        self.mask = 0
        for v in evidence:
            self.mask |= 1 << tree.home[v]
        self.steps: list[Call] = []
        self.slot: dict[Edge | int, int] = {}  # a message's slot, or a clique's belief's
        self.count = len(evidence)
        self.later: set[int] = set()  # cliques with a distribute step

    def plan(self, groups: Sequence[tuple[int, tuple[Segment, ...]]]) -> Plan:
        """Steps giving each group's segments (the group's clique holds them) and P(e)."""
        tree = self.tree
        wanted: dict[int, list[Segment]] = {}
        for clique, segments in groups:
            wanted.setdefault(clique, []).extend(segments)
        root = groups[0][0] if groups else tree.home[next(iter(self.position))]
        collect, edges = self._edges(root, wanted)
        biggest = max({root, *(s for s, _ in edges)}, key=self._size)
        if self._size(biggest) >= BELIEF_ENTRIES and biggest != root:
            root = biggest  # rooted there, its belief is formed once, with every input
            collect, edges = self._edges(root, wanted)
        parent = dict(towards(tree.neighbours, root))
        sends: dict[int, list[int]] = {}
        for s, t in edges:
            sends.setdefault(s, []).append(t)
        self.later = {root, *wanted, *(s for s, t in edges if parent.get(t) == s)}
        for s, t in collect:
            self._collect(s, t)
        self._distribute(root, -1, sends.get(root, []), wanted.get(root, []), True)
        for n, c in towards(tree.neighbours, root):  # each clique after its parent
            if n in self.later:
                outs = [t for t in sends.get(n, []) if t != c]
                self._distribute(n, parent[n], outs, wanted.get(n, []), False)
        log_const = tree.inward_log[root] - sum(tree.prior_log[e] for e in collect)
        return Plan(tuple(self.steps), self.count + 1, log_const)

    def _edges(self, root: int, wanted: Iterable[int]) -> tuple[list[Edge], dict[Edge, None]]:
        """The live messages towards `root` (leaves first) and all those a run needs (towards
        the root or some wanted clique), as an ordered set."""
        tree = self.tree
        collect = live_inward(tree.neighbours, tree.side, root, self.mask)
        edges = dict.fromkeys(collect)
        for clique in wanted:
            edges.update(dict.fromkeys(live_inward(tree.neighbours, tree.side, clique, self.mask)))
        return collect, edges

    def _size(self, clique: int) -> int:
        return math.prod(self.tree.cards[v] for v in self.tree.cliques[clique])

    # -- the inputs of a clique ---------------------------------------------------------
    def _live(self, clique: int, neighbour: int) -> bool:
        return bool(self.tree.side[(neighbour, clique)] & self.mask)

    def _inputs(self, clique: int, skip: int) -> tuple[list[int], list[Segment], list[int]]:
        """Slots and scopes of the live inputs of `clique` (not from `skip`); dead neighbours
        (not `skip`)."""
        tree, position = self.tree, self.position
        scopes: list[Segment] = [(v,) for v in tree.homed[clique] if v in position]
        slots = [position[v] for (v,) in scopes]
        dead = []
        for n in tree.neighbours[clique]:
            if n == skip:
                continue
            if self._live(clique, n):
                slots.append(self.slot[(n, clique)])
                scopes.append(tree.separators[(n, clique)])
            else:
                dead.append(n)
        return slots, scopes, dead

    def _new_slot(self, key: Edge | int) -> int:
        self.slot[key] = self.count = self.count + 1
        return self.count

    def _big(self, clique: int) -> bool:
        return self._size(clique) >= BELIEF_ENTRIES

    # -- the two passes -----------------------------------------------------------------
    def _collect(self, source: int, target: int) -> None:
        """The message from `source` to `target`, its parent towards the root (on P(e)'s path)."""
        out = Out(self._new_slot((source, target)), True, ())
        if not self._big(source):
            slots, scopes, dead = self._inputs(source, target)
            message = self._message(source, scopes, dead, target)
            self.steps.append(Call(message, tuple(slots), (out,)))
            return
        live = self._live(source, target)
        belief = self._belief(source, target if live else -1)
        final = source not in self.later
        priors = () if live else (target,)
        step = self._reduce(source, belief, [target], priors, [], False, out, final=final)
        self.steps.append(step)

    def _distribute(
        self, clique: int, parent: int, sends: list[int], segments: list[Segment], root: bool
    ) -> None:
        """The messages from `clique` away from the root and its marginals (if any segments or
        it is the root: its total is P(e)'s last factor)."""
        marginals = bool(segments) or root
        outs = [Out(self._new_slot((clique, n)), False, ()) for n in sends]
        cols = _columns(segments, self.tree.cards)
        if not self._big(clique):
            for n, out in zip(sends, outs):
                slots, scopes, dead = self._inputs(clique, n)
                message = self._message(clique, scopes, dead, n)
                self.steps.append(Call(message, tuple(slots), (out,)))
            if marginals:
                slots, scopes, dead = self._inputs(clique, -1)
                kernel = self.kernel(clique, tuple(scopes), tuple(dead), tuple(segments))
                self.steps.append(Call(_One(kernel), tuple(slots), (Out(-1, root, cols),)))
            return
        belief = self.slot.get(clique)
        if belief is None:
            belief = self._belief(clique, -1)
        elif parent >= 0 and self._live(clique, parent):  # the partial belief lacks its message
            shape = self._shape(clique, self.tree.separators[(parent, clique)])
            inputs = (belief, self.slot[(parent, clique)])
            self.steps.append(Call(Multiply(shape), inputs, (Out(belief, False, ()),)))
        priors = tuple(n for n in sends if not self._live(clique, n))
        if marginals:
            outs.append(Out(-1, root, cols))
        self.steps.append(self._reduce(clique, belief, sends, priors, segments, marginals, *outs))

    def _message(
        self, clique: int, scopes: list[Segment], dead: list[int], to: int
    ) -> _One | Select:
        """The step of the message from `clique` to `to` (a kernel, or a `Select`)."""
        kernel = self.kernel(clique, tuple(scopes), tuple(dead), to)
        tree = self.tree
        separator = tree.separators[(clique, to)]
        select = select_step(kernel, tree.cliques[clique], tree.cards, scopes, separator)
        return _One(kernel) if select is None else select

    def _belief(self, clique: int, skip: int) -> int:
        """Plan the product of the clique's table and live inputs (not from `skip`); its slot."""
        slots, scopes, _ = self._inputs(clique, skip)
        cards = self.tree.cards
        dead = tuple(n for n in self.tree.neighbours[clique] if not self._live(clique, n))
        table = self.table(clique, dead)
        shapes = tuple(self._shape(clique, scope) for scope in scopes)
        order, last = _small_products(scopes, cards, table.size)
        step = Product(table.reshape(*table.shape, 1), shapes, order, last)
        slot = self._new_slot(clique)
        self.steps.append(Call(step, tuple(slots), (Out(slot, False, ()),)))
        return slot

    def _shape(self, clique: int, scope: Segment) -> tuple[int, ...]:
        cards = self.tree.cards
        return (*(cards[v] if v in scope else 1 for v in self.tree.cliques[clique]), -1)

    def _reduce(
        self,
        clique: int,
        belief: int,
        sends: list[int],
        dead: tuple[int, ...],
        segments: list[Segment],
        marginals: bool,
        *outs: Out,
        final: bool = True,
    ) -> Call:
        """The step summing the belief in `belief` down to messages to `sends` (divided by the
        prior message of each `dead` one, else by its live message) and the marginals."""
        tree = self.tree
        seps = [tree.separators[(clique, n)] for n in sends]
        ops, where = reductions(tree.cliques[clique], tree.cards, [*seps, *segments])
        inputs = [belief]
        messages: list[tuple[int, FloatArray | None, int]] = []
        for n, sep in zip(sends, seps):
            if n in dead:
                prior = tree.prior[(n, clique)]
                factor = np.divide(1.0, prior, out=np.zeros_like(prior), where=prior > 0)
                messages.append((where[sep], factor.reshape(-1, 1), -1))
            elif (n, clique) in self.slot:
                inputs.append(self.slot[(n, clique)])
                messages.append((where[sep], None, len(inputs) - 1))
            else:  # the collect message of a partial belief: it lacks nothing
                messages.append((where[sep], None, -1))
        registers = tuple(where[s] for s in segments) if marginals else None
        step = Reduce(tuple(ops), tuple(messages), registers, where[TOTAL])
        return Call(step, tuple(inputs), outs, (belief,) if final else ())


def _small_products(
    scopes: Sequence[Segment], cards: Sequence[int], size: int
) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """The pairs of inputs worth multiplying before the clique-sized product (each result at
    most a quarter of it), and the operands left to multiply into it."""
    sets = [frozenset(s) for s in scopes]
    order, live = [], set(range(len(sets)))
    for a, b in product_order(sets, cards):
        union = sets[a] | sets[b]
        if math.prod(cards[v] for v in union) * 4 > size:
            break
        order.append((a, b))
        sets.append(union)
        live -= {a, b}
        live.add(len(sets) - 1)
    return tuple(order), tuple(sorted(live, key=lambda k: -len(sets[k])))


def _columns(segments: Sequence[Segment], cards: Sequence[int]) -> Columns:
    out, start = [], 0
    for segment in segments:
        stop = start + math.prod(cards[v] for v in segment)
        out.append((segment, start, stop))
        start = stop
    return tuple(out)
