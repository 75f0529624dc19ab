"""The E-step: expected counts of every family's rows given the cases, by exact inference.

Cases are reduced to their distinct evidence patterns (weighted by how often each occurs),
and those to the distinct evidence of their independent parts once their known causes are
conditioned on (`_split`: exact, and far fewer rows when the cases say which causes were
present). One batched run of the exact engine (`Diagnoser.families`) gives, per row, log P(e)
and the joint posterior P(parents, node | e) of every node's family (a node and its parents
always share a clique: the node's table lies in one). Summed with the patterns' weights, these
are the expected counts of every parent configuration x and node state y:
W(x, y) = sum over patterns of w * P(x, y | e).

- A cause (a root, or any node without parents): its posterior marginal, summed.
- A `cpt` node: W itself, one row per parent configuration.
- A noisy node Y (leaky noisy-OR / noisy-MAX, see `_params`): Y's level is the highest of
  hidden contributions Z_0 ~ d_0 (the leak) and Z_i ~ d_i for each link i active in x (an
  inactive link contributes level 0). The expected count of row i at level s is

      E[Z_i = s, link i active | e] = sum over x activating i, and y, of W(x, y) P(Z_i = s | x, y)

  and P(Z_i = s | x, y) is local to the family: with G(y) = prod over the other contributions
  active in x of their CDFs at y (the CDF of the highest of them) and g(y) = G(y) - G(y - 1),

      P(Z_i = s, Y = y | x) = d_i(s) g(y) if s < y,  d_i(y) G(y) if s = y,  0 if s > y,

  normalised over s. It is computed once per parent configuration, not per case: the work
  is the size of Y's table times its number of rows (links + 1) and levels, and the patterns
  are run in chunks whose family joints hold at most `_CHUNK_ENTRIES` numbers, so no family
  is larger here than the model's own table of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.learn._params import Family
from syncdx.learn._split import Split, split_patterns
from syncdx.network._network import FloatArray, Network

#: Numbers of family joints (patterns x entries) one engine call returns at most.
_CHUNK_ENTRIES = 1 << 22


@dataclass(frozen=True, slots=True)
class Patterns:
    """Distinct evidence rows as likelihood arrays (B, states), how many cases each is, and
    each case's pattern (N,)."""

    likelihoods: dict[int, FloatArray]
    weights: FloatArray
    inverse: npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Counts:
    """Per family: expected counts (rows, levels or states) and activations (rows,)."""

    counts: list[FloatArray]
    active: list[FloatArray]
    log_likelihood: float
    impossible: float


def expected_counts(
    network: Network, fams: list[Family], patterns: Patterns, split: Split | None = None
) -> Counts:
    """The E-step over `patterns` for the model `network` (whose tables the families hold);
    `split`: the patterns' `split_patterns` (structure only: computed here if not given)."""
    if split is None:
        split = split_patterns(network, patterns.likelihoods, len(patterns.weights))
    sums, log_likelihood, impossible = family_sums(Diagnoser(network), fams, patterns, split)
    counts, active = [], []
    for family, total in zip(fams, sums):
        if family.kind == "noisy":
            c, a = noisy_counts(family, network, total)
        else:
            c = total.reshape(family.rows.shape).copy()
            if network.parents[family.node]:
                c[family.frozen] = 0.0
            a = c.sum(axis=1)
        counts.append(c)
        active.append(a)
    return Counts(counts, active, log_likelihood, impossible)


def family_sums(
    diagnoser: Diagnoser, fams: list[Family], patterns: Patterns, split: Split
) -> tuple[list[FloatArray], float, float]:
    """Per family, W = sum over possible patterns of w * P(parents, node | e) (axes: parents
    in table order, then the node); the log likelihood of the possible cases; and the number
    of impossible ones. Runs the split's sub-patterns (see `_split`)."""
    network = diagnoser.network
    members = [(*network.parents[f.node], f.node) for f in fams]
    asked = [tuple(sorted(m)) for m in members]  # the engine's own order: no transposed copies
    log_z, joints = _run(diagnoser, split.likelihoods, split.size, asked)
    weights, row_weights, log_likelihood = _weigh(network, split, log_z, patterns.weights)
    sums = []
    for family, joint, m, member in zip(fams, joints, asked, members):
        rows = split.inside[family.node]
        flat = joint[rows].reshape(len(rows), int(np.prod(joint.shape[1:])))
        total = (row_weights[rows] @ flat).reshape(joint.shape[1:])
        if family.node in split.known:  # patterns where the node is a known root
            state = split.known[family.node]
            total += np.bincount(state[state >= 0], weights[state >= 0], total.size)
        sums.append(total.transpose([m.index(v) for v in member]))
    return sums, log_likelihood, float(patterns.weights[weights == 0].sum())


def _run(
    diagnoser: Diagnoser,
    likelihoods: dict[int, FloatArray],
    rows: int,
    asked: list[tuple[int, ...]],
) -> tuple[FloatArray, list[FloatArray]]:
    """log P(e) and the family joints of `rows` rows, in chunks (0 where impossible)."""
    cards = diagnoser.network.cards
    width = sum(int(np.prod([cards[v] for v in m])) for m in asked)
    if not likelihoods:  # no evidence at all: every row is the prior
        likelihoods = {0: np.ones((rows, cards[0]))}
    step = max(1, _CHUNK_ENTRIES // max(width, 1))
    if not rows:  # every node a known root: nothing to run
        return np.zeros(0), [np.zeros((0, *(cards[v] for v in m))) for m in asked]
    parts = []
    for start in range(0, rows, step):
        chunk = slice(start, min(start + step, rows))
        parts.append(diagnoser.families({v: x[chunk] for v, x in likelihoods.items()}, asked))
    log_z = np.concatenate([p[0] for p in parts])
    joints = [np.concatenate([p[1][f] for p in parts]) for f in range(len(asked))]
    bad = ~np.isfinite(log_z)
    if bad.any():
        for joint in joints:
            joint[bad] = 0.0
    return log_z, joints


def _weigh(
    network: Network, split: Split, log_z: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    """The patterns' weights (0 where impossible), the sub-patterns' weights (the sum of the
    possible patterns' having each) and the log likelihood of the possible patterns: each
    pattern's log P(e) is its sub-patterns' log P(e_C | x_A(C)) and its known roots' terms."""
    with np.errstate(divide="ignore"):
        adjacent = np.zeros(len(log_z))
        own = np.zeros(len(weights))
        for k, state in split.known.items():
            prior = np.log(network.cpts[k])
            at = split.adjacent[k] >= 0
            adjacent[at] += prior[split.adjacent[k][at]]
            on = state >= 0
            own[on] += prior[state[on]] + np.log(split.scale[k][on])
    finite = np.isfinite(log_z)
    if not finite.all() or not np.isfinite(own).all():
        bad = np.bincount(split.pattern, ~finite[split.row], minlength=len(weights)) > 0
        weights = np.where(bad | ~np.isfinite(own), 0.0, weights)
    rows = np.bincount(split.row, weights[split.pattern], minlength=len(log_z)).astype(np.float64)
    with np.errstate(invalid="ignore"):  # -inf - -inf on rows no possible pattern has
        term = np.where(rows > 0, log_z - adjacent, 0.0)
    mine = np.where(weights > 0, own, 0.0)
    return weights, rows, float(rows @ term + weights @ mine)


def noisy_counts(
    family: Family, network: Network, total: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Expected counts (rows, levels) and activations (rows,) of a noisy node's leak and links
    from W (parents' configurations x the node's states): see the module docstring."""
    node_weights = total.reshape(-1, total.shape[-1])[:, list(family.levels)]  # (C, L)
    active = _activity(family, network)  # (C, R)
    rows = family.rows
    cdf = np.cumsum(rows, axis=1)
    cdf[:, -1] = 1.0
    spread = np.where(active[:, :, None], cdf[None], 1.0)  # (C, R, L): 1 where inactive
    levels = rows.shape[1]
    below = np.tril(np.ones((levels, levels), dtype=bool), -1).T  # [s, y]: s < y
    same = np.eye(levels, dtype=bool)
    counts = np.zeros_like(rows)
    for i in range(len(rows)):
        others = np.prod(np.delete(spread, i, axis=1), axis=1)  # G: (C, L)
        step = np.diff(others, axis=1, prepend=0.0)  # g
        local = np.where(below, step[:, None, :], np.where(same, others[:, None, :], 0.0))
        local *= rows[i][None, :, None]  # P(Z_i = s, Y = y | x): (C, s, y)
        norm = local.sum(axis=1, keepdims=True)
        post = np.divide(local, norm, out=np.zeros_like(local), where=norm > 0)
        counts[i] = np.einsum("cy,csy->s", node_weights * active[:, i : i + 1], post)
    activations = active.T.astype(np.float64) @ node_weights.sum(axis=1)
    return counts, activations


def _activity(family: Family, network: Network) -> npt.NDArray[np.bool_]:
    """(parent configurations, rows): whether the leak (row 0, always) and each link is active
    in each configuration of the node's parents (in table order)."""
    parents = network.parents[family.node]
    shape = tuple(network.cards[p] for p in parents)
    config = np.indices(shape).reshape(len(shape), -1)
    active = np.ones((config.shape[1], 1 + len(family.active)), dtype=bool)
    for i, (parent, state) in enumerate(family.active, start=1):
        active[:, i] = config[parents.index(parent)] == state
    return active
