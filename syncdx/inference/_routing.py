"""Which rows of a batch are cheaper one at a time, on the single-row walk, than in the batch.

The batched passes read every clique table in full for every row. The single-row walk reads a
large table only at the states of the row's hard findings (`_kernels`), so on a large tree
with many findings a row can cost it a thousandth of the batch's work, but the walk pays a
fixed cost per clique (Python and small numpy calls). A row goes to the walk when its
estimated walk cost is below the batch's:

    sum over cliques of (the clique's entries at the row's hard findings + CLIQUE_COST)
        <  the tree's entries.

Measured on 2 cores (30% of the observations answered): the walk is 2.7-15x faster than the
batch on water, mildew, diabetes and barley (3-17 million entries) and 1.2-2.4x slower on
insurance, pathfinder, andes and pigs, where the rule keeps the batch (their cliques average
under 2,100 entries: no row walks there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx.network._network import FloatArray

#: A clique's fixed cost on the walk, in table entries read by the batch. Fitted on diabetes,
#: the network where the choice is closest (337 cliques, 10.4 million entries): every row
#: walked 28 CPU-ms a row, every row batched 131; at 20,000 (some rows batched) 59, at 2,500
#: 28-29.
CLIQUE_COST = 2_500
#: Most (rows x cliques) entries `Router.walked` holds at once.
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Router:
    """The walk-or-batch choice for one tree: per variable and clique, log2 of the states a
    hard finding on the variable fixes away there; each clique's log2 entries; the batch's
    cost (the tree's entries) and the walk's fixed cost."""

    weights: FloatArray  # (variables, cliques); empty where no row can walk
    log_entries: FloatArray  # per clique
    batch_cost: float
    fixed_cost: float

    @classmethod
    def of(cls, cliques: Sequence[Sequence[int]], cards: Sequence[int]) -> Router:
        """The router of a tree with these cliques and cardinalities."""
        entries = [math.prod(cards[v] for v in clique) for clique in cliques]
        batch_cost, fixed_cost = float(sum(entries)), float(CLIQUE_COST * len(cliques))
        # only where rows may walk, and no larger than the tree's tables or `_BLOCK`
        weights = np.zeros((0, 0))
        if fixed_cost < batch_cost and len(cards) * len(cliques) <= max(batch_cost, _BLOCK):
            weights = np.zeros((len(cards), len(cliques)))
            for c, clique in enumerate(cliques):
                for v in clique:
                    weights[v, c] = math.log2(cards[v])
        log_entries = np.log2(np.array(entries, dtype=np.float64))
        return cls(weights, log_entries, batch_cost, fixed_cost)

    @property
    def walks(self) -> bool:
        """Whether any row can be cheaper on the walk (never on a tree with more variables
        times cliques than table entries and `_BLOCK`: its weights would outgrow it)."""
        return self.weights.size > 0

    def walked(self, likelihoods: Mapping[int, FloatArray]) -> npt.NDArray[np.intp]:
        """The rows (ascending) whose estimated cost on the walk is below the batch's."""
        if not self.walks or not likelihoods:
            return np.zeros(0, dtype=np.intp)
        hard = np.column_stack([np.count_nonzero(lik, axis=1) == 1 for lik in likelihoods.values()])
        weights = self.weights[list(likelihoods)]
        sliced = np.empty(len(hard))
        step = max(1, _BLOCK // weights.shape[1])  # rows at a time: (rows, cliques) arrays
        for i in range(0, len(hard), step):
            cut = hard[i : i + step].astype(np.float64) @ weights  # log2 of the states fixed
            sliced[i : i + step] = np.exp2(self.log_entries - cut).sum(axis=1)
        return np.flatnonzero(sliced + self.fixed_cost < self.batch_cost)
