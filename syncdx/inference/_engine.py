"""Exact inference, compiled once per network and run on a batch of evidence rows at a time.

`compile_network` (see `_compile`) builds a junction tree, multiplies each conditional table
into one clique and passes every message once with no evidence at all: these prior messages
are kept. `JunctionTree.run` then takes evidence for B rows at once, as likelihood
vectors with a leading batch axis, and recomputes only the messages whose sending side holds
evidence and that lead to a clique holding a target. A message with a fixed set of live inputs
(evidence vectors and recomputed messages) is one matrix product: the clique table, times the
prior messages of the other neighbours, summed down to a matrix from the live inputs' joint
states to the separator's states (see `_kernels`). Inside a run the batch axis is last:
every elementwise product then runs along contiguous rows of the batch (about 2.5 times faster
on the sync model than batch-first, where the innermost axes have two or three states).

Each message is rescaled to sum to one per row; the logs of the scale factors on the way to
one clique add up to log P(evidence), so long evidence lists neither underflow nor lose
precision. A row whose evidence has probability zero gets log P(e) = -inf and NaN marginals.

Extreme tables. The products inside one clique are not rescaled: with entries near 1e-160 a
clique's total can leave double precision's range (below 1e-280 it may have lost digits, at
zero the evidence would look impossible). A row where any clique's total is below `tiny` or
infinite is therefore decided again (see `_fallback`): impossible if a copy of the tree whose
tables keep only their zeros says so (fast, and exact about zero), else run on a copy compiled
in extended precision (`numpy.longdouble`: exponents to about 1e-4900 on x86-64). Where the
platform's longdouble is no wider than a double, there is no second run.

Caching. A batch of two or more rows runs a plan (its steps in order) cached per (evidence
variables, targets), whose kernels are cached too: see `_batchpass`. A single row (the
interactive case) runs without a plan, on messages memoised by their evidence: see
`_rowpass`; `_routing` sends the rows of a batch that are cheaper alone there. Every cache is
emptied when full.
"""

from __future__ import annotations

import functools
import math
import operator
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from syncdx.inference._batch import Plan, Spare
from syncdx.inference._batchpass import BatchPass
from syncdx.inference._belief import Segment
from syncdx.inference._fallback import Key, Kind, decided, fallback_table, widen
from syncdx.inference._kernels import BROADCAST_ENTRIES
from syncdx.inference._routing import Router
from syncdx.inference._rowpass import Group, RowPass, belief_cover
from syncdx.inference._threads import one_blas_thread
from syncdx.inference._tree import Cliques
from syncdx.inference._triangulate import (
    columns,
    cover,
)
from syncdx.network._network import FloatArray, Network

#: The support tree decides possibility exactly while the product of the cardinalities
#: stays below 2**SUPPORT_BITS (a double reaches 2**-1022; see `JunctionTree._redo`).
SUPPORT_BITS = 1000
#: Most cached plans, kernels and target covers before a cache is emptied.
_CACHE = 1 << 16
#: A row of no evidence has P(e) = 1: its computed log P(e) is within rounding (~1e-15) of 0,
#: far inside this bound, unless out of range (NaN).
_BLANK_LOG = 1e-3


@dataclass(frozen=True, slots=True)
class Result:
    """What one run returns: log P(e) per row and the requested marginals, each (B, states)."""

    log_evidence: FloatArray
    marginals: Mapping[int, FloatArray]

    @property
    def possible(self) -> npt.NDArray[np.bool_]:
        """Rows whose evidence has non-zero probability."""
        return np.isfinite(self.log_evidence)


@dataclass(frozen=True, slots=True, eq=False)
class JunctionTree(Cliques):
    """A compiled network: its cliques, tables and prior messages (`Cliques`), and the caches.

    `width` is the largest clique table (entries); batches are cut into chunks so that one
    clique's batched table stays around a million entries.
    """

    prior_marginals: tuple[FloatArray, ...]
    width: int
    network: Network = field(repr=False)
    #: compiles a fallback tree's network (see `_fallback`) with this tree's limits
    recompile: Callable[[Network], JunctionTree] = field(repr=False)
    #: whether single rows may take the walk over ratios to the prior messages (`_rowpass`):
    #: not when some prior table underflowed (see `_underflow`)
    exact_rows: bool = field(default=True, repr=False)
    #: per variable, the bit mask of itself and its ancestors
    ancestry: tuple[int, ...] = field(default=(), repr=False)
    _covers: dict[tuple[object, ...], tuple[Group, ...]] = field(default_factory=dict, repr=False)
    _ancestors: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rows: RowPass = field(init=False, repr=False)
    _batches: BatchPass = field(init=False, repr=False)
    _router: Router = field(init=False, repr=False)
    _fallbacks: dict[Kind, JunctionTree] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", RowPass(self))
        object.__setattr__(self, "_batches", BatchPass(self, self.width))
        object.__setattr__(self, "_router", Router.of(self.cliques, self.cards))

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
        rows = _batch_size(likelihoods)
        if not likelihoods:
            return self._prior(wanted, rows)
        walked = self._router.walked(likelihoods) if self.exact_rows and rows > 1 else None
        if rows == 1 and self.exact_rows:
            result = self._single(likelihoods, wanted)
        elif walked is not None and walked.size:
            result = self._walked(likelihoods, wanted, rows, walked)
        else:
            result = self._batched(likelihoods, wanted, rows)
        redo = np.flatnonzero(np.isnan(result.log_evidence))
        return self._redo(result, likelihoods, wanted, redo) if redo.size else result

    def _batched(
        self, likelihoods: Mapping[int, FloatArray], wanted: tuple[int, ...], rows: int
    ) -> Result:
        """Every row in the batched passes."""
        plan = self._plan(tuple(likelihoods), wanted)
        result = self._run_chunks(plan, likelihoods, wanted, rows)
        return _certain(self._blank_rows_exact(result, likelihoods, wanted), likelihoods)

    def _walked(
        self,
        likelihoods: Mapping[int, FloatArray],
        wanted: tuple[int, ...],
        rows: int,
        walked: npt.NDArray[np.intp],
    ) -> Result:
        """The rows `walked` one at a time on the single-row walk, the others batched."""
        log_z = np.empty(rows)
        marginals = {v: np.empty((rows, self.cards[v])) for v in wanted}
        batched = np.setdiff1d(np.arange(rows), walked, assume_unique=True)
        if batched.size:
            part = self._batched(
                {v: lik[batched] for v, lik in likelihoods.items()}, wanted, batched.size
            )
            log_z[batched] = part.log_evidence
            for v, values in part.marginals.items():
                marginals[v][batched] = values
        found = {v: ~(lik[walked] == 1.0).all(axis=1) for v, lik in likelihoods.items()}
        for k, row in enumerate(walked.tolist()):  # a vector of ones is no evidence: left out
            evidence = {v: lik[row : row + 1] for v, lik in likelihoods.items() if found[v][k]}
            one = self._single(evidence, wanted) if evidence else self._prior(wanted, 1)
            log_z[row] = one.log_evidence[0]
            for v, values in one.marginals.items():
                marginals[v][row] = values[0]
        return Result(log_z, marginals)

    def _single(self, likelihoods: Mapping[int, FloatArray], wanted: tuple[int, ...]) -> Result:
        """One row on the memoised walk. Targets that share no ancestor with any evidence
        variable are independent of it (no path between them is open without evidence): a
        group of the target cover holding only such targets keeps its prior marginals and the
        walk skips its clique (a pedigree's 145 founders: 14-32 are ancestors of a query's
        findings)."""
        groups = self._cover(wanted, homes=True)
        masks = self._masks(wanted, groups)
        reach = 0
        for v in likelihoods:
            reach |= self.ancestry[v]
        kept = [g for g, mask in zip(groups, masks) if mask & reach]
        # BLAS held to one thread where large tables are contracted as factors (`_factored`):
        # their matrices are small, and BLAS's threads on a busy machine made them up to 40
        # times slower; holding it costs more than a small tree's whole query
        hold = one_blas_thread() if self.width >= BROADCAST_ENTRIES else nullcontext()
        with self._lock, hold, np.errstate(over="ignore", invalid="ignore"):
            log_z, marginals = self._rows.run(likelihoods, kept, self.network, self.ancestry)
        if len(kept) < len(groups):
            for v in wanted:
                if v not in marginals:  # impossible evidence: NaN, as the walk gives
                    prior = self.prior_marginals[v][None]
                    marginals[v] = prior if log_z > -math.inf else np.full_like(prior, np.nan)
        return _certain(Result(np.array([log_z]), marginals), likelihoods)

    def _masks(self, targets: tuple[int, ...], groups: tuple[Group, ...]) -> tuple[int, ...]:
        """(Cached) the bit mask of the targets' ancestors (themselves included), per group."""
        masks = self._ancestors.get(targets)
        if masks is None:
            if len(self._ancestors) >= _CACHE:
                self._ancestors.clear()
            ancestry = self.ancestry
            masks = tuple(
                functools.reduce(operator.or_, (ancestry[v] for v in g.variables), 0)
                for g in groups
            )
            self._ancestors[targets] = masks
        return masks

    def _redo(
        self,
        result: Result,
        likelihoods: Mapping[int, FloatArray],
        wanted: tuple[int, ...],
        rows: npt.NDArray[np.intp],
    ) -> Result:
        """`result` with `rows` (NaN: out of a double's range somewhere) decided again: those
        the support tree finds impossible get -inf, the rest are run on the extended tree.

        The support tree cannot underflow while the product of all cardinalities stays within
        2**SUPPORT_BITS (each spread table entry is at least 1/card, so a possible row keeps
        P >= 2**-bits at every step). Past that (a cause with a thousand children), it may call a
        possible row impossible, so every row goes to the extended tree, and only rows that are
        impossible on both count as impossible."""

        def exact(check: npt.NDArray[np.intp]) -> tuple[FloatArray, Mapping[int, FloatArray]]:
            tree = self._fallback("extended")
            subset = {v: widen(lik[check]) for v, lik in likelihoods.items()}
            run = tree._run(tree._plan(tuple(subset), wanted), list(subset.values()), check.size)
            return run.log_evidence, run.marginals

        log_z, marginals = self._decided(
            result.log_evidence, result.marginals, likelihoods, rows, exact
        )
        return Result(log_z, marginals)

    def _decided(
        self,
        log_z: FloatArray,
        values: Mapping[Key, FloatArray],
        likelihoods: Mapping[int, FloatArray],
        rows: npt.NDArray[np.intp],
        exact: Callable[[npt.NDArray[np.intp]], tuple[FloatArray, Mapping[Key, FloatArray]]],
    ) -> tuple[FloatArray, dict[Key, FloatArray]]:
        """`decided` (see `_fallback`) with the support tree's verdict on `rows`."""
        possible = self.possible({v: lik[rows] for v, lik in likelihoods.items()})
        every = self._support_bits > SUPPORT_BITS
        return decided(log_z, values, rows, possible, exact, every=every)

    @property
    def _support_bits(self) -> float:
        """log2 of the product of all cardinalities: the support tree's underflow bound."""
        return float(sum(math.log2(card) for card in self.cards))

    def possible(self, likelihoods: Mapping[int, FloatArray]) -> npt.NDArray[np.bool_]:
        """Per row, whether the evidence has probability above zero: decided on the tree that
        keeps only the tables' zeros, so no underflow can make it look impossible."""
        marks = {v: (lik > 0).astype(np.float64) for v, lik in likelihoods.items()}
        return self._fallback("support").run(marks, targets=()).possible

    def _fallback(self, kind: Kind) -> JunctionTree:
        """The tree that decides rows out of a double's range, built on first use: "support"
        (each table spread evenly over its non-zero entries, so P(e) > 0 there exactly where it
        is here, with no tiny products) or "extended" (the tables in longdouble)."""
        with self._lock:
            tree = self._fallbacks.get(kind)
            if tree is None:
                cpts = tuple(fallback_table(kind, cpt) for cpt in self.network.cpts)
                network = replace(self.network, cpts=cpts)
                tree = self.recompile(network)
                self._fallbacks[kind] = tree
            return tree

    def _blank_rows_exact(
        self, result: Result, likelihoods: Mapping[int, FloatArray], wanted: tuple[int, ...]
    ) -> Result:
        """`result` with rows of no evidence (every weight 1) set to exactly log P(e) = 0 and
        the prior marginals, not the rounding of the products that computed them.

        Only rows whose computed log P(e) is near 0 (or NaN: out of range) can be blank, so
        only those are checked (checking every weight of every row took as long as a fifth of
        the run on the sync model)."""
        near = np.flatnonzero(~(np.abs(result.log_evidence) > _BLANK_LOG))
        if not near.size:
            return result
        checks = [(lik[near] == 1.0).all(axis=1) for lik in likelihoods.values()]
        blank = np.zeros(len(result.log_evidence), dtype=bool)
        blank[near[np.logical_and.reduce(checks)]] = True
        if not blank.any():
            return result
        log_z = np.where(blank, 0.0, result.log_evidence)
        for v in wanted:
            result.marginals[v][blank] = self.prior_marginals[v]
        return Result(log_z, result.marginals)

    def _prior(self, targets: tuple[int, ...], rows: int) -> Result:
        """The result with no evidence at all: prior marginals, log P(e) = 0."""
        marginals = {v: np.repeat(self.prior_marginals[v][None], rows, axis=0) for v in targets}
        return Result(np.zeros(rows), marginals)

    def _run_chunks(
        self, plan: Plan, likelihoods: Mapping[int, FloatArray], wanted: tuple[int, ...], rows: int
    ) -> Result:
        """`_run` on a batch, in chunks (see `_batchpass`)."""
        log_z, out = self._batches.chunked(plan, likelihoods, rows)
        return Result(log_z, {segment[0]: values for segment, values in out.items()})

    def families(
        self, likelihoods: Mapping[int, FloatArray], families: Sequence[Segment]
    ) -> tuple[FloatArray, list[FloatArray]]:
        """log P(e) per row and, for each family (any variables sharing a clique, such as a
        node and its parents), the joint posterior P(family | e) per row: (B, *their states)
        with axes in the order given. Rows of impossible evidence get -inf and NaN."""
        rows = _batch_size(likelihoods)
        if not likelihoods:
            likelihoods = {0: np.ones((rows, self.cards[0]))}
        segments = [tuple(sorted(set(f))) for f in families]
        key = (tuple(likelihoods), ("families", *segments))
        plan = self._batches.plan(
            key,
            tuple(likelihoods),
            lambda: [(self._holder(s), (s,)) for s in dict.fromkeys(segments)],
        )
        log_z, out = self._batches.chunked(plan, likelihoods, rows)
        redo = np.flatnonzero(np.isnan(log_z))
        if redo.size:
            log_z, out = self._redo_families(log_z, out, likelihoods, families, redo)
        joints = []
        for family, segment in zip(families, segments):
            joint = out[segment].reshape(rows, *(self.cards[v] for v in segment))
            joints.append(joint.transpose(0, *(1 + segment.index(v) for v in family)))
        return log_z, joints

    def _holder(self, segment: Segment) -> int:
        """The smallest clique holding every variable of `segment`."""
        holding = [c for c, clique in enumerate(self.cliques) if set(segment) <= set(clique)]
        if not holding:
            raise ValueError(f"variables {segment} share no clique of the junction tree")
        return min(holding, key=lambda c: len(self.cliques[c]))

    def _redo_families(
        self,
        log_z: FloatArray,
        out: dict[Segment, FloatArray],
        likelihoods: Mapping[int, FloatArray],
        families: Sequence[Segment],
        rows: npt.NDArray[np.intp],
    ) -> tuple[FloatArray, dict[Segment, FloatArray]]:
        """`families`' answer with `rows` (out of a double's range) decided as `_redo` does."""

        def exact(check: npt.NDArray[np.intp]) -> tuple[FloatArray, dict[Segment, FloatArray]]:
            tree = self._fallback("extended")
            exact_z, joints = tree.families(
                {v: widen(lik[check]) for v, lik in likelihoods.items()}, families
            )
            flat = {}
            for family, joint in zip(families, joints):
                segment = tuple(sorted(set(family)))
                axes = (1 + family.index(v) for v in segment)
                flat[segment] = joint.transpose(0, *axes).reshape(check.size, -1)
            return exact_z, flat

        return self._decided(log_z, out, likelihoods, rows, exact)

    def _run(
        self, plan: Plan, likelihoods: list[FloatArray], rows: int, spare: Spare | None = None
    ) -> Result:
        """One plan on (rows, states) likelihoods; the steps run with the batch axis last."""
        log_z, out = self._batches.steps(plan, likelihoods, rows, spare or Spare())
        return Result(log_z, {segment[0]: values for segment, values in out.items()})

    # -- caches ---------------------------------------------------------------------------
    def _plan(self, evidence: tuple[int, ...], targets: tuple[int, ...]) -> Plan:
        """The (cached) steps for these evidence variables and targets."""
        return self._batches.plan(
            (evidence, targets),
            evidence,
            lambda: [(g.clique, tuple((v,) for v in g.variables)) for g in self._cover(targets)],
        )

    def _cover(self, targets: tuple[int, ...], homes: bool = False) -> tuple[Group, ...]:
        """The (cached) cliques whose marginals give the targets, with their output columns:
        few cliques (a batch's plan), or with `homes` cliques chosen for their size too (a
        single row: see `belief_cover`)."""
        key = (targets, homes)
        groups = self._covers.get(key)
        if groups is None:
            if len(self._covers) >= _CACHE:
                self._covers.clear()
            if homes:
                chosen = belief_cover(self.cliques, self.cards, targets)
            else:
                chosen = cover(self.cliques, targets)
            groups = self._covers[key] = tuple(
                Group(clique, columns(variables, self.cards))
                for clique, variables in chosen.items()
            )
        return groups


def _certain(result: Result, likelihoods: Mapping[int, FloatArray]) -> Result:
    """`result` with a target's marginal exactly one-hot in each possible row where its own
    evidence is a hard finding: the sum at its state and the row's total are computed apart
    and can differ by an ulp, and a cause found absent must have P(present) exactly 0."""
    if len(result.log_evidence) == 1:
        return _certain_row(result, likelihoods)
    marginals = dict(result.marginals)
    possible = result.possible
    for v, likelihood in likelihoods.items():
        values = marginals.get(v)
        if values is None:
            continue
        hard = possible & (np.count_nonzero(likelihood, axis=1) == 1)
        if hard.any():
            marginals[v] = np.where(hard[:, None], likelihood > 0, values).astype(values.dtype)
    return Result(result.log_evidence, marginals)


def _certain_row(result: Result, likelihoods: Mapping[int, FloatArray]) -> Result:
    """`_certain` for one row, on Python scalars: numpy's calls on 1-row arrays cost more
    than a small tree's whole walk."""
    if not math.isfinite(result.log_evidence[0]):
        return result
    marginals: dict[int, FloatArray] | None = None
    for v, likelihood in likelihoods.items():
        values = result.marginals.get(v)
        if values is None:
            continue
        weights = likelihood[0].tolist()
        found = [s for s, w in enumerate(weights) if w != 0]
        if len(found) == 1:
            certain = np.zeros_like(values)
            if weights[found[0]] > 0:
                certain[0, found[0]] = 1.0
            marginals = dict(result.marginals) if marginals is None else marginals
            marginals[v] = certain
    return result if marginals is None else Result(result.log_evidence, marginals)


def _batch_size(likelihoods: Mapping[int, FloatArray]) -> int:
    sizes = {lik.shape[0] for lik in likelihoods.values()}
    if len(sizes) > 1:
        raise ValueError(f"likelihood arrays disagree on the batch size: {sorted(sizes)}")
    return sizes.pop() if sizes else 1
