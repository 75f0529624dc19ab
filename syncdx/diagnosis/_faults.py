"""Fault sets: which causes may be behind a problem, and what repair attempts do to them.

The planner's hypotheses are the sets S of at most `MAX_FAULTS` causes (every single cause,
every pair), each weighted by P(e, X = S): the model's probability that exactly the causes of S
are present and that the answers e are seen. `clamp_causes` turns evidence rows into one engine
row per (evidence row, set), the causes of S clamped present and every other cause absent, so
one batched pass of the exact engine gives every weight (and, as marginals, P(Q = s | e, X = S)
for the questions still open); `cause_states` gives the same clamps as states, for the
tabulated network (`inference._clamped`) that answers without the engine.

A repair action fixes each cause it targets independently, with its success probability q, and
leaves the others. A set S present at the start has become, after the attempts so far, any
subset T of S still present, with probability

    P(T | S) = prod_{c in T} stay_c * prod_{c in S - T} (1 - stay_c)

where stay_c is the product of (1 - q) over the attempts. The problem persists exactly when T is
not empty, and "not fixed" says no more than that, so `FaultSets.shrink` drops the empty set (its
mass is P(fixed)) and keeps the weights unnormalised: their sum is P(e, not fixed yet). The
answers keep speaking of the causes present at the start; the attempts only change which of them
are still there.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from syncdx.network._network import FloatArray, Network

IntArray = npt.NDArray[np.intp]
#: The largest number of causes assumed present at once.
MAX_FAULTS = 2


@dataclass(frozen=True, slots=True, eq=False)
class FaultSets:
    """Every set of 1 to `max_faults` of `causes` causes, and the subsets each can shrink to.

    `members` (sets, width) holds each set's causes, padded with `causes` (an extra column that
    reads as "no cause"); `indicator` (sets, causes) is 1 where a cause is in a set. Edge e goes
    from set `source[e]` to its subset `target[e]` (`size` stands for the empty set), keeping the
    causes `kept[e]` and losing `lost[e]` (padded like `members`). Edges are sorted by target:
    those into target t start at `starts[t]`.
    """

    causes: int
    members: IntArray
    indicator: FloatArray
    source: IntArray
    target: IntArray
    kept: IntArray
    lost: IntArray
    starts: IntArray

    @property
    def size(self) -> int:
        """How many fault sets there are."""
        return len(self.members)

    def shrink(self, weights: FloatArray, stay: FloatArray) -> FloatArray:
        """(rows, sets) weights of the sets still present when each cause c stays with
        probability `stay[:, c]` (rows, causes); what ends up empty (fixed) is dropped."""
        moved = weights[:, self.source] * self.edge_probabilities(stay)
        return np.asarray(np.add.reduceat(moved, self.starts, axis=1)[:, : self.size])

    def shrink_blocks(self, blocks: FloatArray, stay: FloatArray) -> FloatArray:
        """`shrink` of (R, width, sets) weights, block r with `stay[r]` (R, causes): one product
        per distinct stay row, over the sets holding a cause that may have been fixed (the
        others keep their weight and receive what their supersets lose)."""
        if (stay == 1.0).all():  # nothing tried: every set stays whole
            return blocks
        if (stay == stay[:1]).all():  # one stay row for every block: no grouping
            return self._shrink_all(blocks, stay[0])
        out = np.empty_like(blocks)
        groups: dict[bytes, list[int]] = {}  # the blocks of each distinct stay row
        for r, row in enumerate(stay):
            groups.setdefault(row.tobytes(), []).append(r)
        for index in groups.values():
            out[index] = self._shrink_all(blocks[index], stay[index[0]])
        return out

    def _shrink_all(self, blocks: FloatArray, stay: FloatArray) -> FloatArray:
        """`shrink_blocks` of (R, width, sets) weights with one (causes,) `stay` for all."""
        touched, whole, moved = _shrinker(self, stay)
        return np.asarray(blocks * whole + blocks[:, :, touched] @ moved)

    def edge_probabilities(self, stay: FloatArray) -> FloatArray:
        """(rows, edges) P(a set becomes its subset) from (rows, causes) P(each cause stays)."""
        kept = np.prod(_pad(stay)[:, self.kept], axis=2)
        return np.asarray(kept * np.prod(_pad(1.0 - stay)[:, self.lost], axis=2))

    def transitions(self, stay: FloatArray) -> FloatArray:
        """(rows, sets, sets) P(a set becomes a set still present) from (rows, causes) P(each
        cause stays): `weights @ transitions(stay)[r]` is `shrink(weights, stay[r : r + 1])`."""
        matrices = np.zeros((len(stay), self.size, self.size + 1))
        matrices[:, self.source, self.target] = self.edge_probabilities(stay)
        return np.asarray(matrices[:, :, : self.size])

    def present(self, weights: FloatArray) -> FloatArray:
        """(rows, causes) P(cause present) from (rows, sets) weights; a zero row gives zeros."""
        total = weights.sum(axis=1, keepdims=True)
        return np.asarray((weights @ self.indicator) / np.where(total > 0, total, 1.0))

    def all_fixed(self, fix: FloatArray) -> FloatArray:
        """(actions, sets) P(an action fixes every cause of a set) from (actions, causes)."""
        return np.asarray(np.prod(_pad(fix)[:, self.members], axis=2))


_SHRINKERS: dict[tuple[int, int, bytes], tuple[IntArray, FloatArray, FloatArray]] = {}


def _shrinker(sets: FaultSets, stay: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """For (causes,) `stay`: the sets holding a cause that may have been fixed, a (sets,) mask
    of the others (they keep their weight) and the touched sets' transitions (touched, sets);
    remembered, as a planning call shrinks by the same few failures again and again."""
    key = (sets.causes, sets.size, stay.tobytes())
    found = _SHRINKERS.get(key)
    if found is None:
        touched = np.flatnonzero(sets.indicator @ (stay != 1.0))
        whole = np.ones(sets.size)
        whole[touched] = 0.0
        found = (touched, whole, sets.transitions(stay[np.newaxis])[0][touched])
        if len(_SHRINKERS) >= 1024:
            _SHRINKERS.clear()
        _SHRINKERS[key] = found
    return found


def fault_sets(causes: int, max_faults: int = MAX_FAULTS) -> FaultSets:
    """The sets of 1 to `max_faults` of `causes` causes (built once per size)."""
    return _fault_sets(causes, max_faults)


@cache
def _fault_sets(causes: int, max_faults: int) -> FaultSets:
    width = max(1, min(max_faults, causes))
    sets = [s for k in range(1, width + 1) for s in itertools.combinations(range(causes), k)]
    index = {s: i for i, s in enumerate(sets)}
    edges = sorted(  # (target, source, kept, lost), by target
        (index.get(sub, len(sets)), i, sub, tuple(c for c in s if c not in sub))
        for i, s in enumerate(sets)
        for k in range(len(s) + 1)
        for sub in itertools.combinations(s, k)
    )
    indicator = np.zeros((len(sets), causes))
    for i, s in enumerate(sets):
        indicator[i, list(s)] = 1.0

    def padded(groups: list[tuple[int, ...]]) -> IntArray:
        return np.array([[*g, *[causes] * (width - len(g))] for g in groups], dtype=np.intp)

    targets = np.array([e[0] for e in edges], dtype=np.intp)
    return FaultSets(
        causes=causes,
        members=padded(sets),
        indicator=indicator,
        source=np.array([e[1] for e in edges], dtype=np.intp),
        target=targets,
        kept=padded([e[2] for e in edges]),
        lost=padded([e[3] for e in edges]),
        starts=np.searchsorted(targets, np.arange(len(sets) + 1)).astype(np.intp),
    )


def _pad(values: FloatArray) -> FloatArray:
    """`values` (rows, causes) with a column of ones for the padding cause."""
    return np.concatenate([values, np.ones((len(values), 1))], axis=1)


def clamp_causes(
    network: Network,
    causes: tuple[str, ...],
    sets: FaultSets,
    likelihoods: Mapping[int, FloatArray],
) -> dict[int, FloatArray]:
    """Engine likelihoods for every (evidence row, fault set), evidence row major.

    `likelihoods` holds (rows, states) arrays; each row is repeated once per set, and every
    cause is clamped to present (any state but its normal one) if it is in the set, to its
    normal state otherwise. Soft evidence already on a cause multiplies in.
    """
    rows = len(next(iter(likelihoods.values()))) if likelihoods else 1
    out = {v: np.repeat(lik, sets.size, axis=0) for v, lik in likelihoods.items()}
    for k, cause in enumerate(causes):
        v = network.index[cause]
        variable = network.variables[v]
        normal = np.array([s == variable.normal for s in variable.states])
        inside = sets.indicator[:, k : k + 1] > 0
        clamp = np.tile(np.where(inside, ~normal, normal).astype(float), (rows, 1))
        out[v] = out[v] * clamp if v in out else clamp
    return out


def cause_states(network: Network, causes: tuple[str, ...], sets: FaultSets) -> IntArray | None:
    """(sets, causes) the state `clamp_causes` gives each cause in each set, or None when a
    cause has several states besides its normal one (present is then a set of states)."""
    variables = [network.variable(c) for c in causes]
    if any(v.card != 2 for v in variables):
        return None
    normal = np.array([v.states.index(v.normal) for v in variables], dtype=np.intp)
    return np.where(sets.indicator > 0, 1 - normal, normal).astype(np.intp)
