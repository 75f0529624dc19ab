"""Brute-force enumeration: the slow, obviously right answer the engine is checked against."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from syncdx.network._network import FloatArray, Network


def joint(network: Network) -> FloatArray:
    """The full joint distribution, one axis per variable in model order."""
    # einsum's interleaved form (array, axes, array, axes, ...), which numpy's stubs lack
    operands: list[Any] = []
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        operands += [cpt, [*parents, var]]
    return np.asarray(np.einsum(*operands, list(range(len(network)))))


def posterior_marginals(
    network: Network, evidence: Mapping[int, FloatArray]
) -> tuple[float, list[FloatArray]]:
    """P(e) and every variable's posterior marginal, given likelihood vectors per variable."""
    table = joint(network)
    for var, lik in evidence.items():
        shape = [1] * len(network)
        shape[var] = len(lik)
        table = table * lik.reshape(shape)
    total = float(table.sum())
    axes = range(len(network))
    return total, [
        table.sum(axis=tuple(a for a in axes if a != v)) / total for v in range(len(network))
    ]


def assignments(network: Network) -> itertools.product[tuple[int, ...]]:
    """Every joint state, as a tuple of state indices."""
    return itertools.product(*(range(c) for c in network.cards))


def log_posterior_marginals(
    network: Network, evidence: Mapping[int, FloatArray]
) -> tuple[float, list[FloatArray]]:
    """`posterior_marginals` in log space: log P(e) and the marginals, for tables so extreme
    that products of their entries leave double precision's range."""
    axes = range(len(network))
    table = np.zeros(network.cards)
    with np.errstate(divide="ignore"):
        for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
            order = np.argsort([*parents, var])
            shape = [network.cards[v] if v in (*parents, var) else 1 for v in axes]
            table = table + np.log(np.transpose(cpt, order)).reshape(shape)
        for var, lik in evidence.items():
            shape = [1] * len(network)
            shape[var] = len(lik)
            table = table + np.log(lik).reshape(shape)
    log_total = float(np.logaddexp.reduce(table, axis=None))
    if log_total == -np.inf:
        return log_total, [np.full(card, np.nan) for card in network.cards]
    return log_total, [
        np.exp(np.logaddexp.reduce(table, axis=tuple(a for a in axes if a != v)) - log_total)
        for v in axes
    ]


def mixed_row(network: Network, rng: np.random.Generator) -> dict[int, FloatArray]:
    """One row: on up to four variables, a hard finding, soft weights (some zero) or ones."""
    chosen = rng.choice(len(network), size=min(4, len(network)), replace=False)
    row = {}
    for v in sorted(int(c) for c in chosen):
        card, kind = network.cards[v], int(rng.integers(4))
        if kind < 2:
            lik = np.eye(card)[int(rng.integers(card))]
        elif kind == 2:
            lik = rng.random(card) * (rng.random(card) < 0.7)
        else:
            lik = np.ones(card)
        row[v] = lik[None]
    return row


def check_single_row(network: Network, tree: Any, row: dict[int, FloatArray]) -> None:
    """`tree.run(row)` (a compiled `network`) gives enumeration's answers (`check_result`)."""
    check_result(network, tree.run(row), row)


def check_result(network: Network, result: Any, row: dict[int, FloatArray]) -> None:
    """`result` (every variable targeted, for one `row`) gives enumeration's P(e), to 1e-9
    relative, and marginals, to 1e-9; -inf and NaN marginals where P(e) is zero."""
    with np.errstate(invalid="ignore"):
        p_e, expected = posterior_marginals(network, {v: lik[0] for v, lik in row.items()})
    if p_e == 0.0:
        assert result.log_evidence[0] == -np.inf
        assert all(np.isnan(m).all() for m in result.marginals.values())
        return
    assert math.isclose(math.exp(result.log_evidence[0]), p_e, rel_tol=1e-9)
    for var in range(len(network)):
        np.testing.assert_allclose(result.marginals[var][0], expected[var], rtol=0, atol=1e-9)


def check_row_as_batch(tree: Any, row: dict[int, FloatArray], tolerance: float) -> None:
    """`tree.run(row)` on the single-row path gives the batched path's answers (the row
    twice), log P(e) to `tolerance` relative and marginals to `tolerance`."""
    single = tree.run(row)
    batch = tree.run({v: np.repeat(lik, 2, axis=0) for v, lik in row.items()})
    np.testing.assert_allclose(batch.log_evidence, single.log_evidence[[0, 0]], rtol=tolerance)
    for var, values in single.marginals.items():
        np.testing.assert_allclose(batch.marginals[var][1], values[0], atol=tolerance)
