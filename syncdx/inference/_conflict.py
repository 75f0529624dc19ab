"""Which answers contradict each other: a smallest set of findings with probability zero.

Subsets are tried by size, all subsets of one size in a single batched run of the engine, so a
person is shown the fewest answers to re-check. Past `MAX_SUBSETS` subsets of one size the search
falls back to removing findings one at a time while the rest stays impossible, which leaves a set
from which no finding can be dropped (minimal, if not always smallest).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from syncdx.inference._engine import JunctionTree
from syncdx.network._network import FloatArray

#: Most subsets of one size checked in one batch before falling back to the greedy search.
MAX_SUBSETS = 20_000


def smallest_conflict(tree: JunctionTree, findings: Mapping[int, FloatArray]) -> tuple[int, ...]:
    """Variable indices of a smallest subset of `findings` whose joint probability is zero.

    `findings` maps a variable index to its likelihood vector; together they must be impossible.
    """
    items = tuple(sorted(findings))
    for size in range(1, len(items) + 1):
        if math.comb(len(items), size) > MAX_SUBSETS:
            return _irreducible(tree, findings)
        subsets = list(itertools.combinations(range(len(items)), size))
        member = np.zeros((len(subsets), len(items)), dtype=bool)
        for row, subset in enumerate(subsets):
            member[row, list(subset)] = True
        impossible = np.flatnonzero(~_possible(tree, findings, items, member))
        if impossible.size:
            return tuple(items[j] for j in subsets[impossible[0]])
    raise ValueError("the findings are not impossible together")


def _irreducible(tree: JunctionTree, findings: Mapping[int, FloatArray]) -> tuple[int, ...]:
    items = tuple(sorted(findings))
    keep = np.ones(len(items), dtype=bool)
    for j in range(len(items)):
        keep[j] = False
        if _possible(tree, findings, items, keep[np.newaxis])[0]:
            keep[j] = True
    return tuple(v for v, k in zip(items, keep) if k)


def _possible(
    tree: JunctionTree,
    findings: Mapping[int, FloatArray],
    items: Sequence[int],
    member: np.ndarray,
) -> np.ndarray:
    """For each row of `member` (which findings to include), whether they can hold together."""
    likelihoods = {
        var: np.where(member[:, j, np.newaxis], findings[var], 1.0) for j, var in enumerate(items)
    }
    return tree.possible(likelihoods)
