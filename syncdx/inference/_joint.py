"""Single queries on tiny networks, read off the whole joint distribution.

On a network of at most `MAX_STATES` joint states (asia: 256) the junction-tree walk is all
Python overhead: dozens of numpy calls on tables of a few entries. `Joint` keeps the joint
distribution as one array instead, and per set of hard-finding variables (a *pattern*) a
matrix whose row for each assignment of those variables holds the sums of the joint over
every other variable's states, and their total. A query of hard findings is then one row
read and one division; soft evidence multiplies the matching slice of the joint before it is
summed (one matrix product).

Exactness. Every sum here is of non-negative terms, so each result carries a relative error
of a few ulps times the number of terms. The path is taken only where no product can
underflow: `Joint.of` refuses a network unless the product of each table's smallest non-zero
entry (a lower bound on every non-zero joint entry) is at least `FLOOR`, and a query whose
soft weights could push a term below `FLOOR` is refused (`run` returns None and the caller
walks the junction tree instead). A zero total is then exactly impossible evidence: log P(e)
is -inf and every marginal NaN, as the engine gives. A target with a hard finding gets its
exact one-hot marginal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from syncdx.inference._engine import Result
from syncdx.network._network import FloatArray, Network

#: The most joint states a network may have to be queried through its joint.
MAX_STATES = 4096
#: No term of a sum may fall below this (a normal double with room to spare), so none
#: underflows and a zero is a structural zero.
FLOOR = 1e-290
#: Most entries the patterns' matrices hold together before they are dropped.
_KEPT_ENTRIES = 1 << 22


@dataclass(frozen=True, slots=True, eq=False)
class Pattern:
    """What the queries with hard findings on `hard` need: `sums[h]` holds, for the row
    index h of the findings' states, the sums of the joint over each other variable's states
    (`rest`, in order, at `offsets`) and then their total; `indicator` maps the rest's joint
    states (C order) to those columns."""

    hard: tuple[int, ...]
    strides: tuple[int, ...]
    rest: tuple[int, ...]
    offsets: Mapping[int, int]
    indicator: FloatArray
    sums: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class Joint:
    """A tiny network's joint distribution (one axis per variable), for single queries."""

    cards: tuple[int, ...]
    table: FloatArray
    #: a lower bound on every non-zero entry of `table`
    floor: float
    _patterns: dict[tuple[int, ...], Pattern] = field(default_factory=dict, repr=False)
    #: the entries the kept patterns' matrices hold
    _held: list[int] = field(default_factory=lambda: [0], repr=False)

    @classmethod
    def of(cls, network: Network) -> Joint | None:
        """The joint of `network`, or None where it has more than `MAX_STATES` states, tables
        other than float64, or a non-zero joint entry that could fall below `FLOOR`."""
        if math.prod(network.cards) > MAX_STATES:
            return None
        if any(cpt.dtype != np.float64 for cpt in network.cpts):
            return None
        floor = math.prod(float(cpt[cpt > 0].min()) for cpt in network.cpts)
        if not floor >= FLOOR:
            return None
        operands: list[Any] = []  # einsum's interleaved form: table, its axes, ...
        for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
            operands += [cpt, [*parents, var]]
        table = np.asarray(np.einsum(*operands, list(range(len(network.cards)))), np.float64)
        table.setflags(write=False)
        return cls(network.cards, table, floor)

    def hard(self, codes: Mapping[int, int], targets: Iterable[int] | None) -> Result:
        """One row of hard findings {variable: state}: log P(e) and the targets' marginals."""
        pattern = self._pattern(tuple(sorted(codes)))
        row = sum(codes[v] * s for v, s in zip(pattern.hard, pattern.strides))
        return self._answer(pattern, pattern.sums[row], codes, 0.0, targets)

    def run(
        self, likelihoods: Mapping[int, FloatArray], targets: Iterable[int] | None
    ) -> Result | None:
        """One row of likelihoods ((1, states) each, as `JunctionTree.run` takes them), or
        None where this path is not exact for them (see the module's docstring) or there is
        no evidence (the engine's prior is exact)."""
        codes: dict[int, int] = {}
        soft: dict[int, FloatArray] = {}
        log_scale, bound = 0.0, self.floor
        for v, lik in likelihoods.items():
            weights = lik[0].tolist()
            if not all(0.0 <= w < math.inf for w in weights):
                return None
            top = max(weights)
            if top == 0.0:
                return self._impossible(targets)
            found = [s for s, w in enumerate(weights) if w != 0.0]
            if len(found) == 1:
                codes[v] = found[0]
            elif min(weights) != top:
                soft[v] = np.asarray(weights) / top
                bound *= min(w for w in weights if w != 0.0) / top
            elif top == 1.0:
                continue  # ones: no evidence
            log_scale += math.log(top)
        if not (codes or soft) or bound < FLOOR:
            return None
        pattern = self._pattern(tuple(sorted(codes)))
        row = sum(codes[v] * s for v, s in zip(pattern.hard, pattern.strides))
        sums = pattern.sums[row] if not soft else self._weighed(pattern, codes, soft)
        return self._answer(pattern, sums, codes, log_scale, targets)

    def _weighed(
        self, pattern: Pattern, codes: Mapping[int, int], soft: Mapping[int, FloatArray]
    ) -> FloatArray:
        """The sums of `pattern`'s row for `codes`, the joint weighed by `soft` first."""
        index = tuple(codes[v] if v in codes else slice(None) for v in range(len(self.cards)))
        part = self.table[index]  # one axis per variable of the rest, in order
        for k, v in enumerate(pattern.rest):
            if v in soft:
                shape = [1] * len(pattern.rest)
                shape[k] = self.cards[v]
                part = part * soft[v].reshape(shape)
        weighed: FloatArray = part.reshape(-1) @ pattern.indicator
        return weighed

    def _answer(
        self,
        pattern: Pattern,
        sums: FloatArray,
        codes: Mapping[int, int],
        log_scale: float,
        targets: Iterable[int] | None,
    ) -> Result:
        """The result from a row of `pattern`'s sums (the total last)."""
        total = float(sums[-1])
        if total == 0.0:
            return self._impossible(targets)
        shares = sums / total
        cards, offsets = self.cards, pattern.offsets
        marginals = {}
        for v in range(len(cards)) if targets is None else targets:
            code = codes.get(v)
            if code is None:
                start = offsets[v]
                marginals[v] = shares[None, start : start + cards[v]]
            else:
                one = np.zeros((1, cards[v]))
                one[0, code] = 1.0
                marginals[v] = one
        return Result(np.array([math.log(total) + log_scale]), marginals)

    def _impossible(self, targets: Iterable[int] | None) -> Result:
        """log P(e) = -inf and NaN marginals, as the engine gives impossible evidence."""
        wanted = range(len(self.cards)) if targets is None else targets
        return Result(
            np.array([-math.inf]), {v: np.full((1, self.cards[v]), np.nan) for v in wanted}
        )

    def _pattern(self, hard: tuple[int, ...]) -> Pattern:
        """(Cached) the pattern of findings on the variables `hard` (sorted)."""
        pattern = self._patterns.get(hard)
        if pattern is None:
            pattern = _pattern(self.table, hard)
            if self._held[0] > _KEPT_ENTRIES:
                self._patterns.clear()
                self._held[0] = 0
            self._patterns[hard] = pattern
            self._held[0] += pattern.indicator.size + pattern.sums.size
        return pattern


def _pattern(table: FloatArray, hard: tuple[int, ...]) -> Pattern:
    """The pattern of `table` (a joint) for findings on `hard`."""
    cards = table.shape
    rest = tuple(v for v in range(len(cards)) if v not in hard)
    rest_cards = [cards[v] for v in rest]
    size = math.prod(rest_cards)
    states = np.indices(rest_cards).reshape(len(rest), size)  # (rest, its joint states)
    starts = np.cumsum([0, *rest_cards])
    indicator = np.zeros((size, int(starts[-1]) + 1))
    for k in range(len(rest)):
        indicator[np.arange(size), starts[k] + states[k]] = 1.0
    indicator[:, -1] = 1.0
    rows = math.prod(cards[v] for v in hard)
    sums = table.transpose(*hard, *rest).reshape(rows, -1) @ indicator
    strides = [math.prod(cards[u] for u in hard[k + 1 :]) for k in range(len(hard))]
    return Pattern(
        hard=hard,
        strides=tuple(strides),
        rest=rest,
        offsets={v: int(s) for v, s in zip(rest, starts)},
        indicator=indicator,
        sums=sums,
    )
