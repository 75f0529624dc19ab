"""Brute-force enumeration: the slow, obviously right answer the engine is checked against."""

from __future__ import annotations

import itertools
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
