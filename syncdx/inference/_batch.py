"""The batched run's plan: which messages and beliefs to compute, in order, for fixed evidence
variables and targets, and the steps that compute them.

The plan is one collect pass towards a root clique (the first target's) and one distribute pass
away from it, visiting only the messages with evidence behind them that lead to a target. A
clique works in one of two ways:

- kernel mode (small cliques): each message or set of marginals is one `Kernel`, a matrix
  product from the joint states of its live inputs (see `_kernels`);
- belief mode (large cliques): the clique's belief is formed once per pass and every outgoing
  message and marginal is summed down from it, so a clique is read about twice, not once per
  output (see `_belief`); the sums run with the step forming the belief, a cache-sized block
  at a time (see `_blocked`).

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

from syncdx.inference._belief import TOTAL, Multiply, Output, Product, Reduce, Segment, reductions
from syncdx.inference._blocked import Blocked
from syncdx.inference._kernels import Kernel, product_order
from syncdx.inference._select import Dense, Select, message_step
from syncdx.inference._tree import Cliques, Edge
from syncdx.inference._triangulate import live_inward, towards
from syncdx.network._network import FloatArray

#: A clique with at least this many joint states runs in belief mode. Since messages of two
#: states or more are summed down by one einsum (`_select`), kernel mode is the faster below
#: it: against 2,048 (paired single-thread runs, CPU per row), insurance -45%, pathfinder
#: -45%, diabetes -19%, hailfinder -17%, andes -15%, pigs within noise.
BELIEF_ENTRIES = 1 << 15
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


#: (segment, start, stop) rows of a step's output holding that segment's joint states.
Columns = tuple[tuple[Segment, int, int], ...]
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
        return Plan(tuple(_blocked(self.steps)), self.count + 1, log_const)

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
    ) -> _One | Select | Dense:
        """The step of the message from `clique` to `to` (a kernel, a `Select` or `Dense`)."""
        kernel = self.kernel(clique, tuple(scopes), tuple(dead), to)
        tree = self.tree
        separator = tree.separators[(clique, to)]
        step = message_step(kernel, tree.cliques[clique], tree.cards, scopes, separator)
        return _One(kernel) if step is None else step

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


def _blocked(steps: list[Call]) -> list[Call]:
    """`steps` with each belief's sums run block by block with the step forming it (see
    `_blocked`): a `Reduce` after the `Product` or `Multiply` making its belief, or after
    neither where it sums the belief more than once. Not where an output reads the belief
    itself (a message or marginals over all of the clique's variables)."""
    out: list[Call] = []
    for call in steps:
        step = call.step
        if not isinstance(step, Reduce) or not _fusable(step):
            out.append(call)
            continue
        fused = _fused(out[-1], call, step) if out else None
        if fused is not None:
            out[-1] = fused
        elif sum(op[0] == 0 for op in step.ops) > 1:
            out.append(Call(Blocked(step), call.inputs, call.outs, call.free))
        else:
            out.append(call)
    return out


def _fused(last: Call, call: Call, step: Reduce) -> Call | None:
    """The `Reduce` `call` and the step before it, making its belief, as one `Blocked` call
    (None: `last` does not make that belief, or keeps it for a later step)."""
    belief, extra = call.inputs[0], call.inputs[1:]
    if len(last.outs) != 1 or last.outs[0].slot != belief:
        return None
    if isinstance(last.step, Product):
        keep = belief not in call.free
        free = call.free if keep else tuple(k for k in call.free if k != belief)
        outs = (last.outs[0], *call.outs) if keep else call.outs
        return Call(Blocked(step, form=last.step, keep=keep), (*last.inputs, *extra), outs, free)
    if isinstance(last.step, Multiply) and belief in call.free:
        fused = Blocked(step, shape=last.step.shape)
        return Call(fused, (*last.inputs, *extra), call.outs, call.free)
    return None


def _fusable(step: Reduce) -> bool:
    """Whether no output of `step` reads its belief (register 0) itself."""
    used = {step.total, *(register for register, _, _ in step.messages)}
    used.update(step.marginals or ())
    return 0 not in used


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
