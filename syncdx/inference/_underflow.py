"""Whether a compiled tree's single-row walk is exact: no prior table lost an entry to underflow.

The walk (`_rowpass`) passes messages as ratios to the prior messages and multiplies them into
tables that hold the prior: where a true non-zero prior entry underflowed to 0 or a subnormal,
a large ratio times it is an error that no row total reveals. `rows_exact` decides at compile
time, cheaply, whether that can happen; if so, single rows take the batched path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from syncdx.inference._tables import axes, clique_table, contract
from syncdx.inference._triangulate import holders, separator, smallest
from syncdx.network._network import FloatArray, Network

#: The smallest normal double: a product of factors at most 1 that ends at or above it passed
#: through no subnormal or zero on the way, so it kept its relative precision.
_NORMAL = float(np.finfo(np.float64).tiny)
_LOG_NORMAL = math.log(_NORMAL)


def rows_exact(
    network: Network,
    cliques: Sequence[tuple[int, ...]],
    neighbours: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    prior: Mapping[tuple[int, int], FloatArray],
    prior_log: Mapping[tuple[int, int], float],
) -> bool:
    """Whether every table the single-row walk reads (a clique's base table times the prior
    messages of all its neighbours, or of all but one) and every prior message holds each true
    non-zero entry as a normal double, so every zero is a true zero.

    The walk passes messages as ratios to the prior ones and multiplies them into those
    tables: an entry lost to underflow (a prior joint of 1e-393 stored as 0) times a large
    ratio is an error that no row total reveals. The batched path never divides by a prior.
    Cheap: a table is checked entry by entry only when the least non-zero entries of its
    factors multiply (in log space) to less than a normal double. Every factor is at most 1
    (conditional tables; prior messages scaled to a largest entry of 1), so a product that
    ends normal was normal all along; by induction along `prior_log`'s order (each message
    after its inputs), accurate inputs make accurate messages."""
    if not _base_exact(network, cliques, base):
        return False
    least = {edge: _log_least(message) for edge, message in prior.items()}
    own = [_log_least(table) for table in base]
    tables = [(s, t, [n for n in neighbours[s] if n != t]) for s, t in prior_log]
    tables += [(c, -1, list(neighbours[c])) for c in range(len(cliques))]
    for c, t, senders in tables:
        bound = own[c] + sum(least[(n, c)] for n in senders)
        top = prior_log[(c, t)] if t >= 0 else 0.0  # a message is divided by its largest entry
        if bound - max(top, 0.0) >= _LOG_NORMAL:
            continue
        table = clique_table(cliques, base, prior, c, senders)
        if _lost(cliques, base, prior, c, senders, table):
            return False
        if t >= 0:
            sep = axes(cliques[c], separator(cliques, c, t))
            m = contract([table, list(range(table.ndim))], sep).ravel()
            if np.any((m > 0) & (prior[(c, t)] < _NORMAL)):
                return False
    return True


def _base_exact(
    network: Network, cliques: Sequence[tuple[int, ...]], base: Sequence[FloatArray]
) -> bool:
    """Whether every base table holds each product of non-zero entries as a normal double."""
    holding = holders(cliques, len(network.cards))
    bounds = [0.0] * len(cliques)  # log of the least non-zero entry any base entry can have
    for var, cpt in enumerate(network.cpts):
        bounds[_assigned(network, cliques, holding, var)] += _log_least(cpt)
    return not any(
        bound < _LOG_NORMAL and _lost_in_base(network, cliques, holding, c, table)
        for c, (bound, table) in enumerate(zip(bounds, base))
    )


def _assigned(
    network: Network, cliques: Sequence[tuple[int, ...]], holding: Sequence[Sequence[int]], var: int
) -> int:
    """The clique that `var`'s conditional table is multiplied into (see `base_potentials`)."""
    family = {*network.parents[var], var}
    return smallest(cliques, (c for c in holding[var] if family <= set(cliques[c])))


def _lost_in_base(
    network: Network,
    cliques: Sequence[tuple[int, ...]],
    holding: Sequence[Sequence[int]],
    clique: int,
    table: FloatArray,
) -> bool:
    """Whether a base table entry whose factors are all non-zero fell below a normal double."""
    support = np.ones(table.shape, dtype=bool)
    every = list(range(table.ndim))
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        if _assigned(network, cliques, holding, var) == clique:
            mark = (cpt > 0).astype(np.float64)
            family = axes(cliques[clique], (*parents, var))
            support = contract([support, every, mark, family], every) > 0
    return bool(np.any(support & (table < _NORMAL)))


def _lost(
    cliques: Sequence[tuple[int, ...]],
    base: Sequence[FloatArray],
    prior: Mapping[tuple[int, int], FloatArray],
    clique: int,
    senders: Sequence[int],
    table: FloatArray,
) -> bool:
    """Whether an entry of `table` (`clique_table` of these senders) whose factors are all
    non-zero fell below a normal double."""
    own, support = cliques[clique], base[clique] > 0
    for n in senders:
        sep = separator(cliques, n, clique)
        shape = [support.shape[i] if v in sep else 1 for i, v in enumerate(own)]
        support = support & (prior[(n, clique)] > 0).reshape(shape)
    return bool(np.any(support & (table < _NORMAL)))


def _log_least(table: FloatArray) -> float:
    """log of the least non-zero entry of `table` (0 if it has none: nothing to lose)."""
    positive = table[table > 0]
    return math.log(float(positive.min())) if positive.size else 0.0
