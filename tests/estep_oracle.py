"""Test oracle: the E-step as it was before family joints (modified-model runs per link and level,
and a run per childless noisy-OR node). `tests/test_estep.py` checks the library against it.

Cases are reduced to their distinct evidence patterns (weighted by how often each occurs) and
every inference below runs on all patterns in one batched call of the exact engine.

- A cause (a root): its posterior marginal, from one run with every node a target.
- A `cpt` node with parents: the joint posterior P(parents, node | e) of its family, from one
  run for every such node at once (a family lies inside one clique of the junction tree).
- A noisy node (leaky noisy-OR / noisy-MAX, see `_params`): the contribution X_i of the leak
  (i = 0) or of link i is hidden. Its expected count at level s >= 1 is

      E[X_i = s, parent_i active | e] = d_i(s) * P'(e, parent_i active) / P(e)

  where P' is the model with d_i replaced by a point mass at s: X_i = s happens with
  probability d_i(s) when the link is active, and the rest of the model then runs as if the
  link always contributed s. P(e, A) is linear in d_i, so P' comes from the model with d_i
  half-mixed with that point mass: P_mix = (P + P') / 2 (a point mass itself would make
  possible cases impossible, which the engine decides on a slow exact path). So one run of a
  modified model per (link, level), no table of parent configurations. The count at level 0
  is the rest: P(parent_i active | e) minus those.

  For a noisy-OR node Y with no children (every observation of the shipped model) the modified
  model needs no compiling: with link i always firing, Y is "on" whenever parent_i is active,
  so P'(e, parent_i active) = L_Y(on) * P(e without Y's answer, parent_i active), L_Y(on) the
  case's likelihood of Y being on (1 when blank). One run of the model itself per node, with
  Y's answer left out and Y's parents as targets, gives every link and the leak at once; it
  runs only on the patterns that answered Y "on" (answered "off" the counts are 0, blank the
  main run has them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from syncdx.diagnosis import _likelihoods
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.learn._estep import Counts, Patterns
from syncdx.learn._params import Family, noisy_table
from syncdx.network._network import FloatArray, Network


@dataclass(frozen=True, slots=True)
class _Pass:
    """The main E-step run over the patterns: the compiled model, the patterns' likelihoods,
    their weights (0 where impossible), log P(e) and every node's posterior marginals."""

    diagnoser: Diagnoser
    likelihoods: dict[int, FloatArray]
    weights: FloatArray
    log_z: FloatArray
    marginals: dict[int, FloatArray]


def expected_counts(network: Network, fams: list[Family], patterns: Patterns) -> Counts:
    """The E-step over `patterns` for the model `network` (whose tables the families hold)."""
    diagnoser = Diagnoser(network)
    result = diagnoser.infer(patterns.likelihoods, None)
    possible = result.possible
    weights = np.where(possible, patterns.weights, 0.0)
    log_z = np.where(possible, result.log_evidence, 0.0)
    marginals = {v: np.nan_to_num(m) for v, m in result.marginals.items()}
    run = _Pass(diagnoser, patterns.likelihoods, weights, log_z, marginals)
    joints = _family_joints(run, fams)
    counts, active = [], []
    for family in fams:
        if family.node in joints:
            c = (weights @ joints[family.node].reshape(len(weights), -1)).reshape(family.rows.shape)
            c[family.frozen] = 0.0
            a = c.sum(axis=1)
        elif family.kind == "noisy" and _leaf_noisy_or(network, family):
            c, a = _leaf(run, family)
        elif family.kind == "noisy":
            c, a = _noisy(run, family)
        else:
            c, a = _cpt(run, family)
        counts.append(c)
        active.append(a)
    ll = float(weights @ log_z)
    return Counts(counts, active, ll, float(patterns.weights[~possible].sum()))


def _family_joints(run: _Pass, fams: list[Family]) -> dict[int, FloatArray]:
    """Per `cpt` node with parents: P(parents, node | e) per pattern (0 where impossible)."""
    parents = run.diagnoser.network.parents
    nodes = [f.node for f in fams if f.kind != "noisy" and parents[f.node]]
    if not nodes:
        return {}
    _, joints = run.diagnoser.families(run.likelihoods, [(*parents[v], v) for v in nodes])
    return {v: np.nan_to_num(joint) for v, joint in zip(nodes, joints)}


def _relative(log_joint: FloatArray, log_z: FloatArray, weights: FloatArray) -> FloatArray:
    """w * P(e, x) / P(e) per pattern (0 where impossible)."""
    with np.errstate(invalid="ignore", over="ignore"):
        ratio = np.exp(log_joint - log_z)
    return np.asarray(weights * np.nan_to_num(ratio, nan=0.0, posinf=0.0), dtype=np.float64)


def _cpt(run: _Pass, family: Family) -> tuple[FloatArray, FloatArray]:
    """Counts of a `cpt` node without parents (a cause): its posterior marginal."""
    counts = np.zeros_like(family.rows)
    counts[0] = run.weights @ run.marginals[family.node]
    return counts, counts.sum(axis=1)


def _noisy(run: _Pass, family: Family) -> tuple[FloatArray, FloatArray]:
    """Counts of a noisy node with children, by one run of a half-mixed model per (row, level):
    P(e) is linear in each contribution's distribution d_i, so the model with d_i replaced by
    (d_i + point mass at s) / 2 has P_mix(e, A) = (P(e, A) + P'(e, A)) / 2 for any event A.
    Unlike P' itself, it makes no possible case impossible (no slow fallback rows)."""
    network, weights, marginals = run.diagnoser.network, run.weights, run.marginals
    rows = family.rows
    counts = np.zeros_like(rows)
    active = np.zeros(len(rows))
    for i in range(len(rows)):
        parent, state = family.active[i - 1] if i else (None, 0)
        base = np.ones(len(weights)) if parent is None else marginals[parent][:, state]
        active[i] = weights @ base
        keep = np.flatnonzero(weights * base > 0)  # P(e, A) = 0 makes P'(e, A) = 0: not run
        if family.frozen[i]:
            continue
        for s in range(1, rows.shape[1]):
            if rows[i, s] <= 0.0 or not keep.size:
                continue
            mixed = rows.copy()
            mixed[i] = (rows[i] + _likelihoods.one_hot(rows.shape[1], s)[0]) / 2.0
            cpts = list(network.cpts)
            cpts[family.node] = noisy_table(family, network, mixed)
            model = Diagnoser(_with_tables(network, cpts))
            subset = {v: x[keep] for v, x in run.likelihoods.items()}
            other = model.infer(subset, _targets(parent))
            given = np.ones(len(keep)) if parent is None else other.marginals[parent][:, state]
            ratio = _relative(other.log_evidence, run.log_z[keep], weights[keep])
            counts[i, s] = max(rows[i, s] * (2.0 * (ratio @ np.nan_to_num(given)) - active[i]), 0.0)
        counts[i, 0] = max(active[i] - counts[i, 1:].sum(), 0.0)
    return counts, active


def _targets(parent: int | None) -> tuple[int, ...]:
    return () if parent is None else (parent,)


def _leaf_noisy_or(network: Network, family: Family) -> bool:
    node = family.node
    return len(family.levels) == 2 and not any(node in ps for ps in network.parents)


def _leaf(run: _Pass, family: Family) -> tuple[FloatArray, FloatArray]:
    """`_noisy` for a noisy-OR node without children: one run without the node's answer."""
    node, weights, marginals = family.node, run.weights, run.marginals
    parents = tuple(dict.fromkeys(p for p, _ in family.active))
    if node in run.likelihoods:
        scale, given = _leaf_runs(run, family)
    else:  # never answered: the run would be the main one
        scale, given = weights, {p: marginals[p] for p in parents}
    rows = family.rows
    counts, active = np.zeros_like(rows), np.zeros(len(rows))
    active[0] = weights.sum()
    counts[0, 1] = rows[0, 1] * scale.sum()
    for i, (parent, state) in enumerate(family.active, start=1):
        active[i] = weights @ marginals[parent][:, state]
        counts[i, 1] = rows[i, 1] * (scale @ given[parent][:, state])
    counts[:, 0] = np.maximum(active - counts[:, 1], 0.0)
    return counts, active


def _leaf_runs(run: _Pass, family: Family) -> tuple[FloatArray, dict[int, FloatArray]]:
    """Per pattern, w * L_Y(on) * P(e without Y, . ) / P(e) and the parents' marginals in that
    run. Only patterns whose answer to Y is informative and allows "on" are run: where Y's
    likelihood is 0 at "on" the scale is 0, and where it is flat the run is the main one."""
    node, on, weights = family.node, family.levels[1], run.weights
    parents = tuple(dict.fromkeys(p for p, _ in family.active))
    lik = run.likelihoods[node]
    flat = (lik == lik[:, :1]).all(axis=1)
    scale = np.where(flat, weights, 0.0)
    given = {p: run.marginals[p].copy() for p in parents}
    rows = np.flatnonzero(~flat & (lik[:, on] > 0))
    if rows.size:
        rest = {v: x[rows] for v, x in run.likelihoods.items() if v != node}
        without = run.diagnoser.infer(rest, parents)
        scale[rows] = (
            _relative(without.log_evidence, run.log_z[rows], weights[rows]) * lik[rows, on]
        )
        for p in parents:
            given[p][rows] = np.nan_to_num(without.marginals[p])
    return scale, given


def _with_tables(network: Network, cpts: list[FloatArray]) -> Network:
    return replace(network, cpts=tuple(cpts))
