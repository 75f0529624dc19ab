"""Compiling a network into a junction tree: its shape, tables and prior messages.

`compile_network` triangulates the network (see `_triangulate`; the shape is remembered per
structure), multiplies each conditional table into one clique and passes every message once
with no evidence at all; the prior messages are kept for every later run (see `_engine`).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import numpy as np

from syncdx.inference._engine import JunctionTree
from syncdx.inference._factored import table_parts
from syncdx.inference._tables import base_potentials, prior_marginals, prior_messages
from syncdx.inference._triangulate import (
    holders,
    inward_sums,
    junction_tree,
    separator,
    smallest,
    towards,
)
from syncdx.inference._underflow import rows_exact
from syncdx.network._limits import Limits, check_cliques
from syncdx.network._network import Network

#: Adjacent cliques whose union has at most this many entries are merged into one.
_MERGE_ENTRIES = 128
#: A clique total below this (or infinite) sends the row to the extended-precision tree: every
#: term of a larger total that matters to 1e-16 is then a normal double.
_TINY = 1e-280
#: Whether numpy's longdouble has a wider exponent range than a double on this platform.
_EXTENDED = np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp


@functools.lru_cache(maxsize=32)
def _shape(
    cards: tuple[int, ...], parents: tuple[tuple[int, ...], ...]
) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """The junction tree's cliques and neighbours for a structure, remembered: the shape is
    most of compiling (17 of 21 ms on the sync model), and a fit recompiles the same
    structure at every EM iteration, as `Model.with_unknown_words` and each new `Model` of a
    network do."""
    return junction_tree(cards, parents, _MERGE_ENTRIES)


def compile_network(
    network: Network, tiny: float = _TINY if _EXTENDED else 0.0, *, limits: Limits | None = None
) -> JunctionTree:
    """Compile `network` into a junction tree ready for batched queries; rows whose clique
    totals fall below `tiny` are run again in extended precision (0: never). A tree bigger
    than `limits` (default `Limits()`) is refused with a `ModelError` before it is built."""
    limits = Limits() if limits is None else limits
    cards = network.cards
    cliques, neighbours = _shape(cards, network.parents)
    holding = holders(cliques, len(cards))
    home = tuple(smallest(cliques, among) for among in holding)
    homed = tuple(tuple(v for v in c if home[v] == i) for i, c in enumerate(cliques))
    # per clique: its table, a scratch product, and the row walk's gather indices
    cost = [2 + len(h) + len(n) for h, n in zip(homed, neighbours)]
    check_cliques(network, cliques, cost, limits)
    base = base_potentials(network, cliques, holding)
    edges = towards(neighbours, 0)
    order = [*reversed(edges), *((t, s) for s, t in edges)]  # every edge after its inputs
    prior, prior_log, side = prior_messages(cliques, neighbours, base, order)
    # the longdouble tree (`_fallback("extended")`) is only ever run by plans
    exact = base[0].dtype != np.float64 or rows_exact(
        network, cliques, neighbours, base, prior, prior_log
    )
    return JunctionTree(
        recompile=functools.partial(compile_network, tiny=0.0, limits=limits),
        cards=cards,
        cliques=cliques,
        neighbours=neighbours,
        base=base,
        home=home,
        prior=prior,
        prior_log=prior_log,
        side=side,
        prior_marginals=prior_marginals(cliques, neighbours, base, home, prior),
        width=max(math.prod(cards[v] for v in c) for c in cliques),
        separators={e: separator(cliques, *e) for e in side},
        homed=homed,
        inward_log=tuple(inward_sums(neighbours, prior_log)),
        network=network,
        tiny=tiny,
        parts=table_parts(network, cliques, holding),
        exact_rows=exact,
        ancestry=_ancestry(network.parents),
    )


def _ancestry(parents: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Per variable, the bit mask of itself and its ancestors (a `Network`'s parents come
    before their children)."""
    out = [0] * len(parents)
    for v, ps in enumerate(parents):
        out[v] = functools.reduce(operator.or_, (out[p] for p in ps), 1 << v)
    return tuple(out)
