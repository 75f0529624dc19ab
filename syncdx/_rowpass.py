"""Single-row inference on a compiled junction tree, and what it remembers between queries.

The interactive case: each query adds an answer, so nearly every query is a new pattern. A
single row runs without a plan: it walks from the target cliques towards the evidence and
memoises every message by the evidence behind it (each likelihood vector interned to a small
token, so the key is one integer per message). A new answer thus recomputes only the messages
between it and the targets, plus the target beliefs.

Each message is passed on as its ratio to the prior message, shaped to the receiving clique's
axes, so one `RowKernel` per edge (and per belief) serves every set of live inputs and none is
built per pattern. A memo entry is that ratio and `acc`: the log of the message's scale factor
and of those of the live messages beyond it, each relative to the prior's, so that
log P(e) = inward_log[first target clique] + acc of its belief. Caches are emptied when full.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from syncdx._kernels import RowKernel, clique_table, message_row_kernel, row_kernel
from syncdx._triangulate import fields, layout
from syncdx.network import FloatArray

if TYPE_CHECKING:
    from syncdx.engine import JunctionTree

#: Most memoised messages and belief kernels before a cache is emptied.
_CACHE = 1 << 16
#: Bits per variable in a row's evidence key: distinct likelihood vectors before a reset.
_TOKEN_BITS = 16

#: (sending side's clique mask, link index) of each message a clique may receive.
Senders = tuple[tuple[int, int], ...]


class _Link:
    """A directed edge as the walk uses it: what its message depends on, and its kernel."""

    __slots__ = ("edge", "field", "homed", "kernel", "prior_log", "senders")

    def __init__(self, edge: tuple[int, int], field: int, prior_log: float) -> None:
        self.edge = edge
        self.field = field  # bits of a row's evidence key on the sending side
        self.prior_log = prior_log
        self.homed: tuple[int, ...] = ()  # the variables homed in the sending clique
        self.senders: Senders = ()  # messages into the sending clique, from its other neighbours
        self.kernel: RowKernel | None = None  # built on first use


class Group(NamedTuple):
    """One clique of a target cover and the (variable, start, stop) columns of its output."""

    clique: int
    columns: tuple[tuple[int, int, int], ...]

    @property
    def variables(self) -> tuple[int, ...]:
        """The targets, in output order."""
        return tuple(v for v, _, _ in self.columns)


class RowPass:
    """Single-row runs of one junction tree: memoised messages, interned evidence, kernels.

    Not thread-safe: the tree serialises calls.
    """

    def __init__(self, tree: JunctionTree) -> None:
        self._tree = tree
        index = {edge: i for i, edge in enumerate(tree.side)}
        self._links = tuple(
            _Link(edge, fields(tree.home, side, _TOKEN_BITS), tree.prior_log[edge])
            for edge, side in tree.side.items()
        )
        self._into = tuple(
            tuple((tree.side[(n, c)], index[(n, c)]) for n in nbrs)
            for c, nbrs in enumerate(tree.neighbours)
        )
        for link in self._links:
            source, target = link.edge
            link.homed = tree.homed[source]
            link.senders = tuple(
                (tree.side[(n, source)], index[(n, source)])
                for n in tree.neighbours[source]
                if n != target
            )
        self._layouts = tuple(
            layout(tree.cards, tree.cliques[c], (v,)) for v, c in enumerate(tree.home)
        )
        self._beliefs: dict[Group, RowKernel] = {}
        self._memo: dict[tuple[int, int], tuple[FloatArray, float]] = {}
        self._tokens: dict[tuple[int, bytes], tuple[int, FloatArray]] = {}

    def run(
        self, likelihoods: Mapping[int, FloatArray], groups: Sequence[Group]
    ) -> tuple[float, dict[int, FloatArray]]:
        """log P(e) and the marginals (1, states) of every group's targets, for one row."""
        tree = self._tree
        if len(self._memo) >= _CACHE or len(self._tokens) + len(likelihoods) >= 1 << _TOKEN_BITS:
            self._memo.clear()
            self._tokens.clear()
        vectors: dict[int, FloatArray] = {}
        key = mask = 0
        for v, likelihood in likelihoods.items():
            token, vectors[v] = self._intern(v, likelihood)
            key |= token << (v * _TOKEN_BITS)
            mask |= 1 << tree.home[v]
        walk = _Walk(tree, self._links, self._memo, vectors, key, mask)
        first = groups[0] if groups else Group(tree.home[next(iter(vectors))], ())
        out: dict[int, FloatArray] = {}
        log_z = tree.inward_log[first.clique] + self._belief(walk, first, out)
        for group in groups[1:]:
            self._belief(walk, group, out)
        return log_z, out

    def _belief(self, walk: _Walk, group: Group, out: dict[int, FloatArray]) -> float:
        """Store the group's marginals in `out`; return the belief's `acc`."""
        clique = group.clique
        inputs, acc = walk.inputs(self._tree.homed[clique], self._into[clique])
        kernel = self._beliefs.get(group)
        if kernel is None:
            kernel = self._belief_kernel(group)
        total, values = kernel(inputs)
        for var, start, stop in group.columns:
            out[var] = values[None, start:stop]
        return acc + log(total)

    def _belief_kernel(self, group: Group) -> RowKernel:
        tree, clique = self._tree, group.clique
        if len(self._beliefs) >= _CACHE:
            self._beliefs.clear()
        table = clique_table(tree.cliques, tree.base, tree.prior, clique, tree.neighbours[clique])
        own = tree.cliques[clique]
        kernel = self._beliefs[group] = row_kernel(
            table, [(own.index(v),) for v in group.variables]
        )
        return kernel

    def _intern(self, var: int, likelihood: FloatArray) -> tuple[int, FloatArray]:
        """A small number (1, 2, ...) standing for this likelihood vector of `var`, and the
        vector shaped to broadcast over its home clique."""
        vector = np.asarray(likelihood, dtype=np.float64)
        key = (var, vector.tobytes())
        interned = self._tokens.get(key)
        if interned is None:
            shaped = vector.reshape(self._layouts[var]).copy()  # the caller may reuse its array
            interned = self._tokens[key] = len(self._tokens) + 1, shaped
        return interned


class _Walk:
    """One row's walk: its evidence vectors, evidence key and evidence clique mask."""

    __slots__ = ("key", "links", "mask", "memo", "tree", "vectors")

    def __init__(
        self,
        tree: JunctionTree,
        links: tuple[_Link, ...],
        memo: dict[tuple[int, int], tuple[FloatArray, float]],
        vectors: dict[int, FloatArray],
        key: int,
        mask: int,
    ) -> None:
        self.tree, self.links, self.memo = tree, links, memo
        self.vectors, self.key, self.mask = vectors, key, mask

    def inputs(self, homed: tuple[int, ...], senders: Senders) -> tuple[list[FloatArray], float]:
        """The live inputs of a clique: its own evidence, then messages with evidence behind."""
        vectors, mask, memo, key = self.vectors, self.mask, self.memo, self.key
        inputs = [vectors[v] for v in homed if v in vectors]
        acc = 0.0
        for side, index in senders:
            if side & mask:
                link = self.links[index]
                entry = memo.get((index, key & link.field))
                if entry is None:
                    entry = self.message(index, link)
                inputs.append(entry[0])
                acc += entry[1]
        return inputs, acc

    def message(self, index: int, link: _Link) -> tuple[FloatArray, float]:
        """Compute and memoise the message of `link` (as a ratio to the prior) and its acc."""
        inputs, acc = self.inputs(link.homed, link.senders)
        kernel = link.kernel
        if kernel is None:
            kernel = link.kernel = _message_kernel(self.tree, link.edge)
        total, ratio = kernel(inputs)
        entry = self.memo[(index, self.key & link.field)] = ratio, acc + log(total) - link.prior_log
        return entry


def _message_kernel(tree: JunctionTree, edge: tuple[int, int]) -> RowKernel:
    """The single-row kernel of the message along `edge`, as a ratio shaped for its receiver."""
    source, target = edge
    senders = [n for n in tree.neighbours[source] if n != target]
    table = clique_table(tree.cliques, tree.base, tree.prior, source, senders)
    sep = tree.separators[edge]
    shape = layout(tree.cards, tree.cliques[target], sep)
    return message_row_kernel(table, tree.cliques[source], sep, tree.prior[edge], shape)


def log(total: float) -> float:
    """log of a row total; -inf for zero and for NaN (impossible evidence upstream)."""
    return math.log(total) if total > 0.0 else -math.inf
