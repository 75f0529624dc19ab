"""Exact inference with chosen variables clamped, one configuration per column.

The planner asks, for each evidence row e and each fault set S, for P(e, X = S) and
P(Q = s | e, X = S): every cause is clamped, present or absent. With the clamped variables
fixed, the network falls apart. Each family (a node and its parents) is a factor; a factor
whose variables are all clamped is a number per configuration, and the free variables form
components: two are in one component when some family holds both. So

    P(e, X = x) = prod_{clamped factors} f(x) * prod_K sum_{z_K} prod_{f in K} f(x, z_K) L(z_K)

where z_K runs over a component's joint states and L(z_K) is the product of the evidence
likelihoods of its variables. For diagnostic networks (causes, a few hidden nodes, symptoms)
the components are tiny, and every factor product is tabulated once per model, a row per
configuration and a column per joint state: a query is then a few small matrix products, where
the junction tree would pass messages through every clique for every (row, configuration).
`Clamped.of` returns None when the tables would be too large; the caller then uses the
junction-tree engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx.network._network import FloatArray, Network

IntArray = npt.NDArray[np.intp]
#: Most entries (configurations x joint states, over all components) tabulated.
TABLE_ENTRIES = 1 << 20
#: Most entries (rows x configurations x joint states) formed at once by a query.
WORK_ENTRIES = 1 << 22


@dataclass(frozen=True, slots=True)
class Component:
    """Free variables joined by their families: `variables`, `codes` (joint states,
    variables) the state of each at each joint state, `table` (configurations, joint states)
    the product of the component's factors at each, `one_hot` per variable (joint states,
    states) its state at each joint state, `prior` per variable its marginal (configurations,
    states) without evidence, and `log_z` log P(x) of the clamped children among its factors
    (None when it has none: the factors then sum to 1)."""

    variables: tuple[int, ...]
    codes: IntArray
    table: FloatArray
    one_hot: tuple[FloatArray, ...]
    prior: tuple[FloatArray, ...]
    log_z: FloatArray | None

    @classmethod
    def of(
        cls, variables: tuple[int, ...], cards: Sequence[int], table: FloatArray, closed: bool
    ) -> Component:
        """The component of `variables` (with `cards` states) whose factors' product is
        `table`; `closed` if every factor is over the component's variables alone."""
        codes = np.indices(cards).reshape(len(variables), -1).T.astype(np.intp)
        one_hot = tuple(
            (codes[:, i, np.newaxis] == np.arange(card)).astype(float)
            for i, card in enumerate(cards)
        )
        z = table.sum(axis=1)
        prior = tuple(_normalise(table @ states, z) for states in one_hot)
        with np.errstate(divide="ignore"):
            log_z = None if closed else np.log(z)
        return cls(variables, codes, table, one_hot, prior, log_z)

    def query(
        self, likelihoods: Mapping[int, FloatArray], targets: list[int], rows: int
    ) -> tuple[FloatArray | None, dict[int, FloatArray]]:
        """log P(e_K, clamped children | x) (rows, configurations), or (configurations,) or
        None (0) the same for every row without evidence, and each target's marginal (rows,
        configurations, states), or (configurations, states) without evidence."""
        evidence = self._evidence(likelihoods)
        where = {t: self.variables.index(t) for t in targets}
        if evidence is None:
            return self.log_z, {t: self.prior[i] for t, i in where.items()}
        z = evidence @ self.table.T
        parts: dict[int, list[FloatArray]] = {t: [] for t in targets}
        step = max(1, WORK_ENTRIES // self.table.size)
        for start in range(0, rows if targets else 0, step):
            part = slice(start, start + step)
            weighted = evidence[part, np.newaxis, :] * self.table  # (rows, configurations, joint)
            for t, i in where.items():
                parts[t].append(_normalise(weighted @ self.one_hot[i], z[part]))
        with np.errstate(divide="ignore"):
            return np.log(z), {t: np.concatenate(p) for t, p in parts.items()}

    def _evidence(self, likelihoods: Mapping[int, FloatArray]) -> FloatArray | None:
        """(rows, joint states) the product of the likelihoods on the component; None if none."""
        out: FloatArray | None = None
        for i, v in enumerate(self.variables):
            if v in likelihoods:
                term = likelihoods[v][:, self.codes[:, i]]
                out = term if out is None else out * term
        return out


@dataclass(frozen=True, slots=True)
class Clamped:
    """A network with `clamped` variables fixed to `states` (configurations, clamped):
    `log_prior` (configurations,) the log of the factors over clamped variables only, and the
    free variables' `components`."""

    clamped: tuple[int, ...]
    states: IntArray
    log_prior: FloatArray
    components: tuple[Component, ...]
    home: Mapping[int, int]  # free variable -> its component

    @classmethod
    def of(cls, network: Network, clamped: Sequence[int], states: IntArray) -> Clamped | None:
        """The tabulated network, or None when its tables would exceed `TABLE_ENTRIES`."""
        clamped = tuple(clamped)
        fixed = dict(zip(clamped, states.T))
        groups = _components(network, set(clamped))
        configurations = len(states)
        if configurations * sum(_joint(network, g) for g in groups) > TABLE_ENTRIES:
            return None  # a query would do more work than the junction tree's passes
        home = {v: k for k, group in enumerate(groups) for v in group}
        factors: list[list[int]] = [[] for _ in groups]
        log_prior = np.zeros(configurations)
        for v, parents in enumerate(network.parents):
            free = [u for u in (*parents, v) if u not in fixed]
            if free:
                factors[home[free[0]]].append(v)
            else:
                with np.errstate(divide="ignore"):
                    log_prior += np.log(network.cpts[v][tuple(fixed[u] for u in (*parents, v))])
        components = tuple(
            _tabulate(network, group, family, fixed, configurations)
            for group, family in zip(groups, factors)
        )
        return cls(clamped, states, log_prior, components, home)

    def run(
        self, likelihoods: Mapping[int, FloatArray], targets: Sequence[int], rows: int
    ) -> tuple[FloatArray, dict[int, FloatArray]]:
        """log P(e_r, X = x_c) (rows, configurations), and P(T = s | e_r, X = x_c) (rows,
        configurations, states) of each free target (zeros where e_r is impossible there), for
        likelihoods (rows, states) of any variables."""
        with np.errstate(divide="ignore"):
            log_z = np.broadcast_to(self.log_prior, (rows, len(self.states))).copy()
            for c, v in enumerate(self.clamped):
                if v in likelihoods:
                    log_z += np.log(likelihoods[v][:, self.states[:, c]])
        wanted: list[list[int]] = [[] for _ in self.components]
        for t in targets:
            wanted[self.home[t]].append(t)
        marginals: dict[int, FloatArray] = {}
        for component, its_targets in zip(self.components, wanted):
            log_piece, found = component.query(likelihoods, its_targets, rows)
            if log_piece is not None:
                log_z += log_piece
            marginals.update(found)
        possible = np.isfinite(log_z)[..., np.newaxis]
        if possible.all():  # rows without evidence on a target's component share its marginal
            size = (rows, len(self.states))
            return log_z, {
                t: np.broadcast_to(marginals[t], (*size, marginals[t].shape[-1])) for t in targets
            }
        return log_z, {t: np.where(possible, marginals[t], 0.0) for t in targets}


def _components(network: Network, clamped: set[int]) -> list[tuple[int, ...]]:
    """The free variables joined by shared families (even when the family's child is clamped),
    each group in model order. A union-find: scipy's csgraph would cost ~0.5 s to import."""
    root = {v: v for v in range(len(network.variables)) if v not in clamped}

    def find(v: int) -> int:
        while root[v] != v:
            root[v] = root[root[v]]
            v = root[v]
        return v

    for v, parents in enumerate(network.parents):
        free = [u for u in (*parents, v) if u in root]
        for u in free[1:]:
            root[find(u)] = find(free[0])
    groups: dict[int, list[int]] = {}
    for v in root:
        groups.setdefault(find(v), []).append(v)
    return [tuple(group) for group in groups.values()]


def _joint(network: Network, group: Sequence[int]) -> int:
    return math.prod(network.cards[v] for v in group)


def _tabulate(
    network: Network,
    group: tuple[int, ...],
    family: list[int],
    fixed: Mapping[int, IntArray],
    configurations: int,
) -> Component:
    """The component of `group` with the factors of the variables `family`."""
    cards = [network.cards[v] for v in group]
    codes = np.indices(cards).reshape(len(group), -1).T.astype(np.intp)
    column = {v: codes[:, i][np.newaxis] for i, v in enumerate(group)}
    table = np.ones((configurations, len(codes)))
    for v in family:
        index = tuple(
            fixed[u][:, np.newaxis] if u in fixed else column[u] for u in (*network.parents[v], v)
        )
        table *= network.cpts[v][index]
    closed = all(u not in fixed for v in family for u in (*network.parents[v], v))
    return Component.of(group, cards, table, closed)


def _normalise(by_state: FloatArray, z: FloatArray) -> FloatArray:
    """`by_state` (..., states) over `z` (...), zeros where z is 0."""
    safe = np.where(z > 0, z, 1.0)[..., np.newaxis]
    return np.asarray(np.where(z[..., np.newaxis] > 0, by_state / safe, 0.0))
