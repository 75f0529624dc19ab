"""Single queries on tiny networks, read off the whole joint distribution.

On a network of at most `MAX_STATES` joint states (asia: 256) the junction-tree walk is all
Python overhead: dozens of numpy calls on tables of a few entries. `Joint` keeps the joint
distribution as one flat array instead, with an indicator matrix whose row (v, s) is 1 at
the joint states where variable v is in state s (and a last row of ones). A query weighs
the joint by each finding's indicator row (a hard finding) or by its weights times its
variable's rows (soft evidence), then one matrix product gives every variable's unnormalised
marginal and their total: a few numpy calls whatever the findings, and nothing to build per
pattern of findings (fresh evidence is the common case).

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
from dataclasses import dataclass
from typing import Any

import numpy as np

from syncdx.inference._engine import Result
from syncdx.network._network import FloatArray, Network

#: The most joint states a network may have to be queried through its joint.
MAX_STATES = 4096
#: The most entries its indicator matrix may hold (states x (all variables' states + 1)): a
#: query reads it whole, and past this the walk is faster (two variables of 64 states:
#: 185 us against the walk's 45; twelve binary ones, 102k entries: 35 against 45; asia 4,352).
MAX_ENTRIES = 1 << 16
#: No term of a sum may fall below this (a normal double with room to spare), so none
#: underflows and a zero is a structural zero.
FLOOR = 1e-290


@dataclass(frozen=True, slots=True, eq=False)
class Joint:
    """A tiny network's joint distribution, for single queries.

    `table` is the joint, flat (C order over the variables); `rows[offsets[v] + s]` is 1 where
    variable v is in state s, and `rows[-1]` is all ones; `floor` is a lower bound on every
    non-zero entry of `table`.
    """

    cards: tuple[int, ...]
    table: FloatArray
    rows: FloatArray
    offsets: tuple[int, ...]
    floor: float

    @classmethod
    def of(cls, network: Network) -> Joint | None:
        """The joint of `network`, or None where it has more than `MAX_STATES` states or
        `MAX_ENTRIES` indicator entries, tables other than float64, or a non-zero joint entry
        that could fall below `FLOOR`."""
        cards = network.cards
        states = math.prod(cards)
        if states > MAX_STATES or states * (sum(cards) + 1) > MAX_ENTRIES:
            return None
        if any(cpt.dtype != np.float64 for cpt in network.cpts):
            return None
        floor = math.prod(float(cpt[cpt > 0].min()) for cpt in network.cpts)
        if not floor >= FLOOR:
            return None
        operands: list[Any] = []  # einsum's interleaved form: table, its axes, ...
        for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
            operands += [cpt, [*parents, var]]
        table = np.einsum(*operands, list(range(len(cards)))).astype(np.float64).reshape(-1)
        offsets = np.cumsum([0, *cards])
        each = np.indices(cards).reshape(len(cards), states)  # (variables, joint states)
        rows = np.zeros((int(offsets[-1]) + 1, states))
        for v in range(len(cards)):
            rows[offsets[v] + each[v], np.arange(states)] = 1.0
        rows[-1] = 1.0
        for array in (table, rows):
            array.setflags(write=False)
        return cls(cards, table, rows, tuple(int(o) for o in offsets[:-1]), floor)

    def hard(self, codes: Mapping[int, int], targets: Iterable[int] | None) -> Result:
        """One row of hard findings {variable: state}: log P(e) and the targets' marginals."""
        log_z, shares = self.shares(codes)
        return self._result(log_z, shares, targets)

    def shares(self, codes: Mapping[int, int]) -> tuple[float, FloatArray]:
        """log P(e) of hard findings {variable: state} and every variable's marginal, one
        after another in model order (a fresh array; -inf and NaN if impossible)."""
        weighed, rows, offsets = self.table, self.rows, self.offsets
        for v, code in codes.items():
            weighed = weighed * rows[offsets[v] + code]
        return self._shares(rows @ weighed, codes, 0.0)

    def run(
        self, likelihoods: Mapping[int, FloatArray], targets: Iterable[int] | None
    ) -> Result | None:
        """One row of likelihoods ((1, states) each, as `JunctionTree.run` takes them), or
        None where this path is not exact for them (see the module's docstring) or there is
        no evidence (the engine's prior is exact)."""
        codes: dict[int, int] = {}
        weighed, rows, offsets = self.table, self.rows, self.offsets
        log_scale, bound = 0.0, self.floor
        for v, lik in likelihoods.items():
            weights = lik[0].tolist()
            if not all(0.0 <= w < math.inf for w in weights):
                return None
            top = max(weights)
            if top == 0.0:
                return self._result(-math.inf, np.full(len(self.rows) - 1, np.nan), targets)
            found = [s for s, w in enumerate(weights) if w != 0.0]
            if len(found) == 1:
                codes[v] = found[0]
                weighed = weighed * rows[offsets[v] + found[0]]
            elif min(weights) != top:
                bound *= min(w for w in weights if w != 0.0) / top
                block = rows[offsets[v] : offsets[v] + len(weights)]
                weighed = weighed * (np.asarray(weights) / top @ block)
            elif top == 1.0:
                continue  # ones: no evidence
            log_scale += math.log(top)
        if weighed is self.table or bound < FLOOR:
            return None
        return self._result(*self._shares(rows @ weighed, codes, log_scale), targets)

    def _shares(
        self, sums: FloatArray, codes: Mapping[int, int], log_scale: float
    ) -> tuple[float, FloatArray]:
        """log P(e) and the marginals from every variable's unnormalised marginal (the total
        last), each finding's set exactly one-hot: its other states sum only zeros (their
        weight), but its own state's sum and the total may differ in the last bit."""
        total = float(sums[-1])
        if total == 0.0:
            return -math.inf, np.full(len(sums) - 1, np.nan)
        shares = sums[:-1] / total
        offsets = self.offsets
        for v, code in codes.items():
            shares[offsets[v] + code] = 1.0
        return math.log(total) + log_scale, shares

    def _result(self, log_z: float, shares: FloatArray, targets: Iterable[int] | None) -> Result:
        """The targets' marginals, each a (1, states) view of `shares`."""
        cards, offsets = self.cards, self.offsets
        marginals = {}
        for v in range(len(cards)) if targets is None else targets:
            start = offsets[v]
            marginals[v] = shares[None, start : start + cards[v]]
        return Result(np.array([log_z]), marginals)
