"""Exact inference, compiled once per network and run on a batch of evidence rows at a time.

`compile_network` builds a junction tree (see `syncdx._triangulate`), multiplies each conditional
table into one clique and passes every message once with no evidence at all: these prior
messages are kept. `JunctionTree.run` then takes evidence for B rows at once, as likelihood
vectors with a leading batch axis, and recomputes only the messages whose sending side holds
evidence and that lead to a clique holding a target. A message with a fixed set of live inputs
(evidence vectors and recomputed messages) is one matrix product: the clique table, times the
prior messages of the other neighbours, summed down to a matrix from the live inputs' joint
states to the separator's states. Those matrices are built on first use and cached.

Each message is rescaled to sum to one per row; the logs of the scale factors on the way to
one clique add up to log P(evidence), so long evidence lists neither underflow nor lose
precision. A row whose evidence has probability zero gets log P(e) = -inf and NaN marginals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from syncdx._kernels import Kernel, axes, build_kernel, contract
from syncdx._threads import one_blas_thread, pool
from syncdx._triangulate import junction_tree
from syncdx.network import FloatArray, Network

#: Most table entries (rows x clique size) a batch chunk may hold in one clique.
_CHUNK_ENTRIES = 1 << 20
#: Batches of at least this many rows run with BLAS held to one thread (see syncdx._threads).
_BATCH_ROWS = 256
#: Adjacent cliques whose union has at most this many entries are merged into one.
_MERGE_ENTRIES = 128
#: Most cached plans (one per evidence variables and targets) before the cache is emptied.
_PLAN_CACHE = 4096
_NOTHING: FloatArray = np.empty(0)


@dataclass(frozen=True, slots=True)
class Result:
    """What one run returns: log P(e) per row and the requested marginals, each (B, states)."""

    log_evidence: FloatArray
    marginals: Mapping[int, FloatArray]

    @property
    def possible(self) -> npt.NDArray[np.bool_]:
        """Rows whose evidence has non-zero probability."""
        return np.isfinite(self.log_evidence)


@dataclass(frozen=True, slots=True)
class _Step:
    """Run `kernel` on the given slots; store its output in slot `out` (if >= 0)."""

    kernel: Kernel
    inputs: tuple[int, ...]
    out: int
    on_path: bool  # its total is a factor of P(e)
    targets: tuple[tuple[int, int, int], ...]  # (variable, start, stop) columns of the output


@dataclass(frozen=True, slots=True)
class _Plan:
    """The steps of one run for fixed evidence variables and targets."""

    steps: tuple[_Step, ...]
    slots: int
    log_const: float  # log scale factors of the prior messages on the way to the P(e) clique
    constant: tuple[int, ...]  # targets with no live input: prior marginals


@dataclass(frozen=True, slots=True, eq=False)
class JunctionTree:
    """A compiled network: cliques, their tables, the prior messages and cached run plans.

    `width` is the largest clique table (entries); batches are cut into chunks so that one
    clique's batched table stays around a million entries.
    """

    cards: tuple[int, ...]
    cliques: tuple[tuple[int, ...], ...]
    neighbours: tuple[tuple[int, ...], ...]
    base: tuple[FloatArray, ...]
    home: tuple[int, ...]
    prior: Mapping[tuple[int, int], FloatArray]
    prior_log: Mapping[tuple[int, int], float]
    side: Mapping[tuple[int, int], int]  # bit mask of the cliques on the sending side
    prior_marginals: tuple[FloatArray, ...]
    width: int
    _plans: dict[tuple[tuple[int, ...], tuple[int, ...]], _Plan] = field(
        default_factory=dict, repr=False
    )
    _kernels: dict[tuple[object, ...], Kernel] = field(default_factory=dict, repr=False)

    def run(
        self,
        likelihoods: Mapping[int, FloatArray],
        targets: Iterable[int] | None = None,
    ) -> Result:
        """Posterior marginals of `targets` (all variables if None) and log P(e), per row.

        `likelihoods` maps a variable index to a (B, states) array of non-negative evidence
        weights: a one-hot row for a hard finding, any weights for soft evidence, ones for none.
        Every array must have the same B.
        """
        wanted = tuple(range(len(self.cards)) if targets is None else targets)
        plan = self._plan(tuple(likelihoods), wanted)
        rows = _batch_size(likelihoods)
        if rows < _BATCH_ROWS:
            return self._run(plan, list(likelihoods.values()), rows)
        step = max(1, _CHUNK_ENTRIES // self.width)
        chunks = [slice(i, min(i + step, rows)) for i in range(0, rows, step)]

        def run_chunk(chunk: slice) -> Result:
            inputs = [lik[chunk] for lik in likelihoods.values()]
            return self._run(plan, inputs, chunk.stop - chunk.start)

        with one_blas_thread():
            parts = (
                list(pool().map(run_chunk, chunks)) if len(chunks) > 1 else [run_chunk(chunks[0])]
            )
        if len(parts) == 1:
            return parts[0]
        return Result(
            np.concatenate([p.log_evidence for p in parts]),
            {v: np.concatenate([p.marginals[v] for p in parts]) for v in wanted},
        )

    def _run(self, plan: _Plan, likelihoods: list[FloatArray], rows: int) -> Result:
        slots: list[FloatArray] = likelihoods + [_NOTHING] * plan.slots
        totals: list[FloatArray] = []
        out: dict[int, FloatArray] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            for step in plan.steps:
                total, values = step.kernel([slots[k] for k in step.inputs])
                slots[step.out] = values
                if step.on_path:
                    totals.append(total)
                for var, start, stop in step.targets:
                    out[var] = values[:, start:stop]
            log_z = np.log(np.stack(totals)).sum(axis=0) if totals else np.zeros(rows)
        log_z = np.where(np.isnan(log_z), -np.inf, log_z + plan.log_const)
        for var in plan.constant:
            out[var] = np.repeat(self.prior_marginals[var][None], rows, axis=0)
        return Result(log_z, out)

    # -- planning -------------------------------------------------------------------------
    def _plan(self, evidence: tuple[int, ...], targets: tuple[int, ...]) -> _Plan:
        """The (cached) steps for these evidence variables and targets."""
        key = (evidence, targets)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE:
                self._plans.clear()
            plan = self._plans[key] = _Planner(self, evidence).plan(targets)
        return plan

    def kernel(
        self,
        clique: int,
        live: tuple[tuple[int, ...], ...],
        dead: tuple[int, ...],
        out: int | tuple[int, ...],
    ) -> Kernel:
        """The cached kernel of `clique` for live input scopes, prior-message neighbours `dead`
        and output `out`: a neighbour (a message to it) or a tuple of target variables."""
        key = (clique, live, dead, out)
        kernel = self._kernels.get(key)
        if kernel is None:
            table = _table(self.cliques, self.base, self.prior, clique, dead)
            if isinstance(out, int):
                separator = _separator(self.cliques, clique, out)
                kernel = build_kernel(self.cliques[clique], self.cards, table, live, separator)
            else:
                kernel = build_kernel(self.cliques[clique], self.cards, table, live, None, out)
            self._kernels[key] = kernel
        return kernel


class _Planner:
    """Works out which messages one run needs, in order, for fixed evidence variables."""

    def __init__(self, tree: JunctionTree, evidence: tuple[int, ...]) -> None:
        self.tree = tree
        self.evidence = evidence
        self.mask = sum({1 << tree.home[v] for v in evidence})
        self.steps: list[_Step] = []
        self.slot: dict[tuple[int, int], int] = {}
        self.on_path = True

    def plan(self, targets: tuple[int, ...]) -> _Plan:
        """Steps: first the P(e) clique (the first target's or evidence's home), then targets."""
        tree = self.tree
        if not self.evidence:
            return _Plan((), 0, 0.0, targets)
        groups = _cover(tree.cliques, targets)
        first = next(iter(groups), tree.home[self.evidence[0]])
        self._belief(first, tuple(groups.get(first, ())))
        self.on_path = False
        log_const = sum(tree.prior_log[e] for e in _towards(tree.neighbours, first))
        log_const -= sum(tree.prior_log[e] for e in self.slot)
        for clique, variables in groups.items():
            if clique != first:
                self._belief(clique, tuple(variables))
        return _Plan(tuple(self.steps), len(self.slot), log_const, ())

    def _live(self, source: int, target: int) -> bool:
        return bool(self.tree.side[(source, target)] & self.mask)

    def _inputs(self, clique: int, skip: int) -> tuple[list[int], list[tuple[int, ...]], list[int]]:
        """Slots and scopes of the live inputs of `clique` (not from `skip`); dead neighbours."""
        tree = self.tree
        slots = [i for i, v in enumerate(self.evidence) if tree.home[v] == clique]
        scopes: list[tuple[int, ...]] = [(self.evidence[i],) for i in slots]
        dead = []
        for n in tree.neighbours[clique]:
            if n == skip:
                continue
            if self._live(n, clique):
                slots.append(self.slot[(n, clique)])
                scopes.append(_separator(tree.cliques, n, clique))
            else:
                dead.append(n)
        return slots, scopes, dead

    def _message(self, source: int, target: int) -> None:
        """Plan the message source -> target (its live inputs are planned already)."""
        if (source, target) in self.slot:
            return
        slots, scopes, dead = self._inputs(source, target)
        kernel = self.tree.kernel(source, tuple(scopes), tuple(dead), target)
        self.slot[(source, target)] = out = len(self.evidence) + len(self.slot)
        self.steps.append(_Step(kernel, tuple(slots), out, self.on_path, ()))

    def _belief(self, clique: int, variables: tuple[int, ...]) -> None:
        """Plan the live messages towards `clique`, leaves first, then its marginals."""
        for source, target in reversed(_towards(self.tree.neighbours, clique, self._live)):
            self._message(source, target)
        slots, scopes, dead = self._inputs(clique, -1)
        kernel = self.tree.kernel(clique, tuple(scopes), tuple(dead), variables)
        starts = np.cumsum([0, *(self.tree.cards[v] for v in variables)]).tolist()
        columns = tuple(zip(variables, starts[:-1], starts[1:]))
        self.steps.append(_Step(kernel, tuple(slots), -1, self.on_path, columns))


def _towards(
    neighbours: Sequence[tuple[int, ...]],
    root: int,
    keep: Callable[[int, int], bool] = lambda source, target: True,
) -> list[tuple[int, int]]:
    """The directed edges towards `root` (those `keep` accepts, and beyond them), root first."""
    edges, stack = [], [(root, -1)]
    while stack:
        c, parent = stack.pop()
        for n in neighbours[c]:
            if n != parent and keep(n, c):
                edges.append((n, c))
                stack.append((n, c))
    return edges


def _cover(cliques: Sequence[tuple[int, ...]], targets: Iterable[int]) -> dict[int, list[int]]:
    """Few cliques holding all targets (greedy set cover): clique -> its targets."""
    left = set(targets)
    groups: dict[int, list[int]] = {}
    while left:
        best = max(range(len(cliques)), key=lambda c: (len(left.intersection(cliques[c])), -c))
        groups[best] = [v for v in cliques[best] if v in left]
        left.difference_update(cliques[best])
    return groups


def _separator(cliques: Sequence[tuple[int, ...]], a: int, b: int) -> tuple[int, ...]:
    return tuple(v for v in cliques[a] if v in cliques[b])


def _batch_size(likelihoods: Mapping[int, FloatArray]) -> int:
    sizes = {lik.shape[0] for lik in likelihoods.values()}
    if len(sizes) > 1:
        raise ValueError(f"likelihood arrays disagree on the batch size: {sorted(sizes)}")
    return sizes.pop() if sizes else 1


# -- compilation --------------------------------------------------------------------------
def compile_network(network: Network) -> JunctionTree:
    """Compile `network` into a junction tree ready for batched queries."""
    cards = network.cards
    cliques, neighbours = junction_tree(cards, network.parents, _MERGE_ENTRIES)
    home = tuple(
        min((c for c in range(len(cliques)) if v in cliques[c]), key=lambda c: len(cliques[c]))
        for v in range(len(cards))
    )
    base = _base_potentials(network, cliques)
    edges = _towards(neighbours, 0)
    order = [*reversed(edges), *((t, s) for s, t in edges)]  # every edge after its inputs
    prior, prior_log, side = _prior_messages(cliques, neighbours, base, order)
    return JunctionTree(
        cards=cards,
        cliques=cliques,
        neighbours=neighbours,
        base=base,
        home=home,
        prior=prior,
        prior_log=prior_log,
        side=side,
        prior_marginals=_prior_marginals(cliques, neighbours, base, home, prior),
        width=max(math.prod(cards[v] for v in c) for c in cliques),
    )


def _base_potentials(
    network: Network, cliques: Sequence[tuple[int, ...]]
) -> tuple[FloatArray, ...]:
    """Each clique's table: the product of the conditional tables assigned to it."""
    cards = network.cards
    tables = [np.ones([cards[v] for v in clique]) for clique in cliques]
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        family = (*parents, var)
        c = min(
            (c for c in range(len(cliques)) if set(family) <= set(cliques[c])),
            key=lambda c: len(cliques[c]),
        )
        every = list(range(len(cliques[c])))
        tables[c] = contract([tables[c], every, cpt, axes(cliques[c], family)], every)
    return tuple(tables)


def _prior_messages(
    cliques: Sequence[tuple[int, ...]],
    neighbours: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    order: Sequence[tuple[int, int]],
) -> tuple[
    dict[tuple[int, int], FloatArray], dict[tuple[int, int], float], dict[tuple[int, int], int]
]:
    """Every message with no evidence (normalised, flat), its log scale and its sending side."""
    prior: dict[tuple[int, int], FloatArray] = {}
    prior_log: dict[tuple[int, int], float] = {}
    side: dict[tuple[int, int], int] = {}
    for s, t in order:
        table = _table(cliques, base, prior, s, (n for n in neighbours[s] if n != t))
        m = contract([table, list(range(table.ndim))], axes(cliques[s], _separator(cliques, s, t)))
        m = m.ravel()
        total = float(m.sum())
        prior[(s, t)], prior_log[(s, t)] = m / total, math.log(total)
        side[(s, t)] = (1 << s) | sum(side[(n, s)] for n in neighbours[s] if n != t)
    return prior, prior_log, side


def _table(
    cliques: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    prior: Mapping[tuple[int, int], FloatArray],
    clique: int,
    senders: Iterable[int],
) -> FloatArray:
    """The clique's table times the prior messages from `senders`."""
    own, table = cliques[clique], base[clique]
    for n in senders:
        sep = _separator(cliques, n, clique)
        shape = [table.shape[i] if v in sep else 1 for i, v in enumerate(own)]
        table = table * prior[(n, clique)].reshape(shape)
    return table


def _prior_marginals(
    cliques: Sequence[tuple[int, ...]],
    neighbours: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    home: Sequence[int],
    prior: Mapping[tuple[int, int], FloatArray],
) -> tuple[FloatArray, ...]:
    """Every variable's marginal with no evidence."""
    out = []
    for var, c in enumerate(home):
        table = _table(cliques, base, prior, c, neighbours[c])
        m = contract([table, list(range(table.ndim))], [cliques[c].index(var)])
        out.append(m / m.sum())
    return tuple(out)
