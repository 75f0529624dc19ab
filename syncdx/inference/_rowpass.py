"""Single-row inference on a compiled junction tree, and what it remembers between queries.

The interactive case: each query adds an answer, so nearly every query is a new pattern. A
single row runs without a plan: it walks from the target cliques towards the evidence (see
`_walk`) and memoises every message by the evidence behind it (each likelihood vector interned
to a small token, so the key is one integer per message). A new answer thus recomputes only
the messages between it and the targets, plus the target beliefs.

Each message is passed on as its ratio to the prior message, flat over the separator's joint
states; a small clique gathers each live input over its own joint states through a fixed
index (a flat gather and product beat broadcasting over many small axes), a larger one
broadcasts them over its axes, so one `RowKernel` per edge (and per belief) serves every set
of live inputs and none is built per pattern. A memo entry
is that ratio and `acc`: the log of the message's scale factor and of those of the live
messages beyond it, each relative to the prior's, so that log P(e) = inward_log[first target
clique] + acc of its belief. Caches are emptied when full.

Hard findings slice large tables (as pyAgrum reduces each potential to the observed states): a
large clique holding a variable with a hard finding reads its table only at the finding's
state. A belief's inputs are zero elsewhere; so are a message's when the finding is homed
behind it; when it is homed on the receiving side (the variable is then in the separator) the
message is exact only at that state, which is all the row ever reads of it (the cliques
holding a variable are connected, so the finding meets it before the variable is summed out),
and so is every message computed from it: a separator's variables are in its message's memo
key (`_field`). Between two large cliques a message is kept at those states alone (compact),
not spread back over the separator with zeros: barley's largest separator holds 907,200
entries, and spreading was half of a walked row's time.

A large table that factorises (few or no conditional tables of its own, as most large cliques
of a triangulated network) is never read whole: its kernel contracts its factors and the live
inputs pairwise (`_factored`). Where every kernel of a clique is factored, the messages into it
come whole, not as ratios: each kernel leaves out the prior message of a live one, which it
would otherwise multiply back (`takes_whole`). Targets are read from cliques chosen for their
size as well as their number (`belief_cover`).

On a tree with a large clique, a row whose evidence and targets leave some variables barren
(neither an ancestor of a finding nor of a target) skips the walk: it runs on the requisite
conditional tables alone (`_relevant`), without memo.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from syncdx.inference._factored import FactoredKernel, factored_kernel, takes_whole
from syncdx.inference._kernels import (
    BROADCAST_ENTRIES,
    RowKernel,
    message_row_kernel,
    row_kernel,
    spread,
)
from syncdx.inference._relevant import Relevance
from syncdx.inference._tables import clique_table
from syncdx.inference._tree import Cliques
from syncdx.inference._triangulate import fields
from syncdx.inference._walk import Homed, Link, Senders, Spread, Walk, log, run
from syncdx.network._network import FloatArray, Network

#: Most memoised messages and belief kernels before a cache is emptied.
_CACHE = 1 << 16
#: A clique with at least this many joint states multiplies its inputs by broadcasting them
#: over its axes, not by gathering each through a clique-sized index (below it, a gather and a
#: flat product are faster). Measured against 32k: pathfinder's all-marginals 27 -> 12-15 ms,
#: diabetes' walked rows 74 -> 63 CPU-ms each; other networks unchanged.
_GATHER_ENTRIES = 1 << 12
#: A belief costs as much as reading this many table entries, whatever its clique's size.
_BELIEF_ENTRIES = 1 << 14
#: A single row goes on the requisite tables alone (`_relevant`) only on a tree with a clique
#: larger than this (see `RowPass._requisite`).
_REQUISITE_WIDTH = 1 << 17
#: A row needing every variable goes on the requisite tables only if no separator is larger.
_SEPARATOR_ENTRIES = 1 << 18
#: Most evidence keys (and requisite answers) remembered; the oldest goes first.
_RECENT = 64
#: Bits per variable in a row's evidence key: distinct likelihood vectors before a reset.
_TOKEN_BITS = 16


class Group(NamedTuple):
    """One clique of a target cover and the (variable, start, stop) columns of its output."""

    clique: int
    columns: tuple[tuple[int, int, int], ...]

    @property
    def variables(self) -> tuple[int, ...]:
        """The targets, in output order."""
        return tuple(v for v, _, _ in self.columns)


class RowPass:
    """Single-row runs on one tree's cliques: memoised messages, interned evidence, kernels.

    Not thread-safe: the tree serialises calls.
    """

    def __init__(self, tree: Cliques) -> None:
        self._tree = tree
        links = {
            edge: Link(edge, tree.prior_log[edge], side)
            for edge, side in tree.side.items()  # fields with the inputs: O(variables) each
        }
        self._links = tuple(links.values())
        self._by_edge = links
        # a clique's gather indices (clique-sized each) are built on its first single-row
        # use: built eagerly they were most of a large network's compile time and memory
        self._homed: list[Homed | None] = [None] * len(tree.cliques)
        self._into: list[Senders | None] = [None] * len(tree.cliques)
        self._beliefs: dict[Group, RowKernel | FactoredKernel] = {}
        self._whole: list[bool | None] = [None] * len(tree.cliques)  # see `takes_whole`
        self._relevance: Relevance | None = None
        # evidence keys the walk met lately, and the requisite path's answers by key and targets
        self._walked: dict[int, None] = {}
        self._answers: dict[tuple[int, tuple[int, ...]], tuple[float, dict[int, FloatArray]]] = {}
        self._width = max(table.size for table in tree.base)
        self._narrow = all(  # no separator past `_SEPARATOR_ENTRIES` (see `_requisite`)
            math.prod(tree.cards[v] for v in sep) <= _SEPARATOR_ENTRIES
            for sep in tree.separators.values()
        )
        # the requisite tables' contractions label a clique's variables with letters
        self._lettered = max(len(c) for c in tree.cliques) <= len(string.ascii_letters)
        self._memoised = 0  # entries in the links' memos
        self._tokens: dict[tuple[int, bytes], tuple[int, FloatArray, int]] = {}

    def run(
        self,
        likelihoods: Mapping[int, FloatArray],
        groups: Sequence[Group],
        network: Network | None = None,
        ancestry: Sequence[int] = (),
    ) -> tuple[float, dict[int, FloatArray]]:
        """log P(e) and the marginals (1, states) of every group's targets, for one row: on the
        requisite tables alone (see `_relevant`) where they are few, given the `network` and
        its `ancestry` (each variable's ancestors and itself, as bit masks), unless the walk
        met the same evidence lately (its memo then holds the messages)."""
        tree = self._tree
        if self._memoised >= _CACHE or len(self._tokens) + len(likelihoods) >= 1 << _TOKEN_BITS:
            for link in self._links:
                link.memo.clear()
            self._memoised = 0
            self._tokens.clear()
            self._walked.clear()
            self._answers.clear()
        vectors: dict[int, FloatArray] = {}
        hard: dict[int, int] = {}
        key = mask = 0
        for v, likelihood in likelihoods.items():
            token, vectors[v], state = self._intern(v, likelihood)
            if state >= 0:
                hard[v] = state
            key |= token << (v * _TOKEN_BITS)
            mask |= 1 << tree.home[v]
        if network is not None and ancestry and key not in self._walked:
            targets = [v for g in groups for v in g.variables]
            if self._requisite(likelihoods, targets, ancestry):
                return self._requisite_run(likelihoods, targets, key, network, ancestry)
        _remember(self._walked, key, None)
        walk = Walk(self, tree, vectors, key, mask, hard)
        first = groups[0] if groups else Group(tree.home[next(iter(vectors))], ())
        out: dict[int, FloatArray] = {}
        log_z = tree.inward_log[first.clique] + self._belief(walk, first, out)
        for group in groups[1:]:
            if math.isnan(self._belief(walk, group, out)):
                log_z = math.nan  # out of range off the P(e) path: the row is redone too
        self._memoised += walk.computed
        return log_z, out

    def _requisite_run(
        self,
        likelihoods: Mapping[int, FloatArray],
        targets: Sequence[int],
        key: int,
        network: Network,
        ancestry: Sequence[int],
    ) -> tuple[float, dict[int, FloatArray]]:
        """The row on the requisite tables, remembered by its evidence `key` and targets (the
        same query asked again, as a notebook does, costs a lookup, not a run; so do fewer
        targets on evidence whose every marginal was asked lately)."""
        asked = (key, tuple(targets))
        answer = self._answers.get(asked)
        if answer is None:
            every = self._answers.get((key, ()))
            if every is not None and all(t in every[1] for t in targets):
                return every[0], {t: every[1][t].copy() for t in targets}
            relevance = self._relevance
            if relevance is None:
                relevance = self._relevance = Relevance(self._tree, network, ancestry)
            answer = relevance.run(likelihoods, targets)
            _remember(self._answers, asked, answer)
            if len(targets) == len(self._tree.cards):  # every marginal: kept under () too
                _remember(self._answers, (key, ()), answer)
        log_z, marginals = answer
        return log_z, {v: values.copy() for v, values in marginals.items()}

    def _requisite(
        self, likelihoods: Mapping[int, FloatArray], targets: Sequence[int], ancestry: Sequence[int]
    ) -> bool:
        """Whether the row goes on the requisite tables alone (`_relevant`): where the tree has
        a clique past `_REQUISITE_WIDTH` entries (the walk's cost) and some variable is not
        requisite (an ancestor of the evidence or of a target).

        Measured in CPU time against the walk on fresh rows. Cause posteriors (4-8 leaf
        findings): munin 50 -> 9-10 ms, pigs 11 -> 2. Batch rows walked one at a time (30% of
        the observations answered): munin 100 -> 83 ms a row, mildew 3.0-3.5 -> 2.2-2.4, water
        4.9 -> 2.0-3.2, diabetes 47-52 -> 34-35, barley 5.5-11 -> 3.4-3.6. andes (largest
        clique 131,072) 3.8 -> 4.3 ms and pathfinder no faster: they stay on the walk.

        Every marginal (every variable requisite), once messages up from subtrees met before
        are remembered (`_relevant`): mildew 3.3 -> 2.5 ms, water 16 -> 12.5, diabetes 40 ->
        31, munin 199 -> 162, pigs even; but barley 48 -> 60 (a separator of 907,200 entries:
        the walk keeps such messages at the findings' states alone), so a tree with a
        separator past `_SEPARATOR_ENTRIES` keeps those rows on the walk."""
        tree = self._tree
        if self._width <= _REQUISITE_WIDTH or not self._lettered:
            return False
        needed = 0
        for v in (*likelihoods, *targets):
            needed |= ancestry[v]
        return needed.bit_count() < len(tree.cards) or self._narrow

    def inputs(self, clique: int) -> tuple[Homed, Senders]:
        """The clique's homed variables and the messages into it, with their gather indices
        over its joint states (built on first use)."""
        homed, into = self._homed[clique], self._into[clique]
        if homed is None or into is None:
            tree = self._tree
            cards, own = tree.cards, tree.cliques[clique]
            scopes: list[tuple[int, ...]] = [(v,) for v in tree.homed[clique]]
            scopes += [tree.separators[(n, clique)] for n in tree.neighbours[clique]]
            covers = _spreads(cards, own, scopes)
            homed = self._homed[clique] = tuple(zip(tree.homed[clique], covers))
            into = self._into[clique] = tuple(
                (tree.side[(n, clique)], self._by_edge[(n, clique)], cover)
                for n, cover in zip(tree.neighbours[clique], covers[len(homed) :])
            )
            for _, link, _ in into:  # each link is into one clique: set once
                link.field = _field(tree, link)
                link.bit = 1 << tree.neighbours[clique].index(link.edge[0])
        return homed, into

    def _belief(self, walk: Walk, group: Group, out: dict[int, FloatArray]) -> float:
        """Store the group's marginals in `out`; return the belief's `acc`."""
        clique = group.clique
        kernel = self._beliefs.get(group)
        if kernel is None:
            kernel = self._belief_kernel(group)
        x, acc, live = walk.product(clique, *self.inputs(clique), kernel)
        total, values = run(
            kernel, x, walk.fixed(clique) if kernel.axes and walk.hard else (), live
        )
        for var, start, stop in group.columns:
            out[var] = values[None, start:stop]
        return acc + log(total, self._tree.tiny)

    def _belief_kernel(self, group: Group) -> RowKernel | FactoredKernel:
        tree, clique = self._tree, group.clique
        if len(self._beliefs) >= _CACHE:
            self._beliefs.clear()
        own = tree.cliques[clique]
        segments = [(own.index(v),) for v in group.variables]
        senders = tree.neighbours[clique]
        whole = self.whole(clique)
        kernel: RowKernel | FactoredKernel | None = factored_kernel(
            tree, clique, senders, segments, whole=whole
        )
        assert kernel is not None or not whole, "a clique taking whole messages is factored"
        if kernel is None:
            table = clique_table(tree.cliques, tree.base, tree.prior, clique, senders)
            kernel = row_kernel(table, segments)
        self._beliefs[group] = kernel
        return kernel

    def link_kernel(self, link: Link) -> RowKernel | FactoredKernel:
        """Build (and set) the link's kernel; its messages are `compact` (only the states of
        the hard findings in the separator, the rest left out) where the receiver reads no
        further: it broadcasts its inputs and its table is large enough that every kernel of
        it reads the table only at the row's hard findings (`_kernels.row_kernel`, or
        factored)."""
        target = link.edge[1]
        compact = self._tree.base[target].size >= BROADCAST_ENTRIES and all(
            type(index) is tuple for *_, index in self.inputs(target)[1]
        )
        source = link.edge[0]
        kernel = _message_kernel(
            self._tree, link.edge, compact, self.whole(target), self.whole(source)
        )
        link.kernel = kernel
        link.compact = type(kernel) is FactoredKernel and kernel.compact
        return kernel

    def whole(self, clique: int) -> bool:
        """(Cached) whether messages into `clique` come whole, not as ratios to their priors
        (see `takes_whole`)."""
        whole = self._whole[clique]
        if whole is None:
            whole = self._whole[clique] = takes_whole(self._tree, clique)
        return whole

    def _intern(self, var: int, likelihood: FloatArray) -> tuple[int, FloatArray, int]:
        """A small number (1, 2, ...) standing for this likelihood vector of `var`, the vector
        (flat, a copy: the caller may reuse its array), and its one non-zero state (hard
        evidence) or -1."""
        vector = np.asarray(likelihood, dtype=np.float64)
        key = (var, vector.tobytes())
        interned = self._tokens.get(key)
        if interned is None:
            flat = vector.ravel().copy()
            nonzero = np.flatnonzero(flat)
            state = int(nonzero[0]) if nonzero.size == 1 else -1
            interned = self._tokens[key] = len(self._tokens) + 1, flat, state
        return interned


def belief_cover(
    cliques: Sequence[tuple[int, ...]], cards: Sequence[int], targets: Sequence[int]
) -> dict[int, list[int]]:
    """Cliques whose beliefs give the targets' marginals for a single row (clique -> its
    targets): greedily, the clique of least cost (`_BELIEF_ENTRIES` plus its size) per target
    it adds. A few small cliques beat one large one (mildew's largest holds five targets
    at 1.5M entries), but not many tiny ones (each belief costs a call)."""
    left = set(targets)
    cost = [_BELIEF_ENTRIES + math.prod(cards[v] for v in c) for c in cliques]
    chosen: dict[int, list[int]] = {}
    while left:
        best = min(
            (c for c in range(len(cliques)) if left.intersection(cliques[c])),
            key=lambda c: (cost[c] / len(left.intersection(cliques[c])), c),
        )
        chosen[best] = [v for v in cliques[best] if v in left]
        left.difference_update(cliques[best])
    return chosen


def _spreads(
    cards: Sequence[int], clique: tuple[int, ...], scopes: Sequence[tuple[int, ...]]
) -> list[Spread]:
    """How a vector over each scope (a subset of `clique`) covers the clique's joint states:
    broadcast shapes if the clique is large and every scope in its order, else gather indices."""
    ordered = all(
        [clique.index(v) for v in s] == sorted(clique.index(v) for v in s) for s in scopes
    )
    if ordered and math.prod(cards[v] for v in clique) >= _GATHER_ENTRIES:
        return [tuple(cards[v] if v in scope else 1 for v in clique) for scope in scopes]
    return [spread(cards, clique, scope) for scope in scopes]


def _field(tree: Cliques, link: Link) -> int:
    """The link's field, the bits of a row's evidence key its message depends
    on: the tokens of the variables homed on the sending side and of the separator's
    variables. A large table is sliced at every hard finding in its clique; a
    finding homed on the receiving side is then in the separator, and the message is exact
    only at its state, which is all the receiver reads, but it must not be reused for a row
    with another state there. So must every message computed from it, small tables too, and
    the variable is in their separators as far as they carry it (the cliques holding a
    variable are connected): every separator's variables are in the key."""
    field = fields(tree.home, link.side, _TOKEN_BITS)
    ones = (1 << _TOKEN_BITS) - 1
    for v in tree.separators[link.edge]:
        field |= ones << (v * _TOKEN_BITS)
    return field


def _message_kernel(
    tree: Cliques, edge: tuple[int, int], compact: bool, whole: bool, taking: bool
) -> RowKernel | FactoredKernel:
    """The single-row kernel of the message along `edge`, shaped for its receiver: whole if
    the receiver takes it so (`whole`), else as its ratio to the prior message (`compact` if
    factored and asked: see `FactoredKernel`); `taking`: the sender takes whole messages."""
    source, target = edge
    senders = [n for n in tree.neighbours[source] if n != target]
    own, sep, prior = tree.cliques[source], tree.separators[edge], tree.prior[edge]
    scale = None if whole else np.divide(1.0, prior, out=np.zeros_like(prior), where=prior > 0)
    segment = [tuple(own.index(v) for v in sep)]
    kernel = factored_kernel(tree, source, senders, segment, scale, compact, taking)
    if kernel is not None:
        return kernel
    assert not taking, "a clique taking whole messages is factored"
    table = clique_table(tree.cliques, tree.base, tree.prior, source, senders)
    if whole:
        return row_kernel(table, segment)
    return message_row_kernel(table, own, sep, prior)


def _remember(recent: dict[Any, Any], key: Any, value: Any) -> None:
    """`recent[key] = value`, the oldest entry dropped past `_RECENT` entries."""
    recent.pop(key, None)
    recent[key] = value
    if len(recent) > _RECENT:
        del recent[next(iter(recent))]
