"""The tables a compiled tree starts from: each clique's product of conditional tables, the
messages passed with no evidence, each variable's prior marginal, and a clique's table times
some of its prior messages (what kernels are built from).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from syncdx.inference._triangulate import separator, smallest
from syncdx.network._network import FloatArray, Network


def contract(operands: list[Any], axes: list[int]) -> FloatArray:
    """The einsum of `operands` to `axes`, in their precision (double or longdouble)."""
    return np.asarray(np.einsum(*operands, axes, optimize=len(operands) > 4))


def axes(own: tuple[int, ...], variables: Iterable[int]) -> list[int]:
    return [own.index(v) for v in variables]


def base_potentials(
    network: Network, cliques: Sequence[tuple[int, ...]], holding: Sequence[Sequence[int]]
) -> tuple[FloatArray, ...]:
    """Each clique's table: the product of the conditional tables assigned to it (each to the
    smallest clique holding its family; `holding[v]` lists the cliques that hold v)."""
    cards = network.cards
    tables = [np.ones([cards[v] for v in clique]) for clique in cliques]
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        family = (*parents, var)
        c = smallest(cliques, (c for c in holding[var] if set(family) <= set(cliques[c])))
        every = list(range(len(cliques[c])))
        tables[c] = contract([tables[c], every, cpt, axes(cliques[c], family)], every)
    return tuple(tables)


def prior_messages(
    cliques: Sequence[tuple[int, ...]],
    neighbours: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    order: Sequence[tuple[int, int]],
) -> tuple[
    dict[tuple[int, int], FloatArray], dict[tuple[int, int], float], dict[tuple[int, int], int]
]:
    """Every message with no evidence (flat, scaled to a largest entry of 1), its log scale and
    its sending side."""
    prior: dict[tuple[int, int], FloatArray] = {}
    prior_log: dict[tuple[int, int], float] = {}
    side: dict[tuple[int, int], int] = {}
    for s, t in order:
        table = clique_table(cliques, base, prior, s, (n for n in neighbours[s] if n != t))
        m = contract([table, list(range(table.ndim))], axes(cliques[s], separator(cliques, s, t)))
        m = m.ravel()
        top = float(m.max())  # not the sum: a cause with a thousand children multiplies a
        # thousand messages of 1/2 (underflow); scaled to a largest entry of 1, they are ones
        prior[(s, t)], prior_log[(s, t)] = m / top, math.log(top)
        side[(s, t)] = (1 << s) | sum(side[(n, s)] for n in neighbours[s] if n != t)
    return prior, prior_log, side


def clique_table(
    cliques: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    prior: Mapping[tuple[int, int], FloatArray],
    clique: int,
    senders: Iterable[int],
) -> FloatArray:
    """The clique's table times the prior messages from `senders`."""
    own, table = cliques[clique], base[clique]
    for n in senders:
        sep = separator(cliques, n, clique)
        shape = [table.shape[i] if v in sep else 1 for i, v in enumerate(own)]
        table = table * prior[(n, clique)].reshape(shape)
    return table


def prior_marginals(
    cliques: Sequence[tuple[int, ...]],
    neighbours: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    home: Sequence[int],
    prior: Mapping[tuple[int, int], FloatArray],
) -> tuple[FloatArray, ...]:
    """Every variable's marginal with no evidence."""
    out = []
    for var, c in enumerate(home):
        table = clique_table(cliques, base, prior, c, neighbours[c])
        m = contract([table, list(range(table.ndim))], [cliques[c].index(var)])
        out.append(m / m.sum())
    return tuple(out)
