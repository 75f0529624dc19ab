"""Hypothesis strategies shared by the tests: random discrete networks and evidence."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from syncdx.network._network import CAUSE_STATES, Network, Variable


@st.composite
def networks(
    draw: st.DrawFn, max_nodes: int = 10, max_parents: int = 3, zeros: bool = False
) -> Network:
    """A random DAG with 2-4 states per node and random tables (exact zeros if `zeros`)."""
    n = draw(st.integers(2, max_nodes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    variables, parents, cpts = [], [], []
    for i in range(n):
        ps = tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=max_parents)))) if i else ()
        root = not ps
        card = 2 if root else draw(st.integers(2, 4))
        states = CAUSE_STATES if root else tuple(f"s{k}" for k in range(card))
        variables.append(Variable(f"v{i}", states, "cause" if root else "observation", cost=1.0))
        table = rng.dirichlet(np.full(card, 0.7), size=[variables[p].card for p in ps] or None)
        if zeros:
            table = np.where(rng.random(table.shape) < 0.2, 0.0, table)
            table[..., 0] += np.where(table.sum(axis=-1) == 0, 1.0, 0.0)
            table = table / table.sum(axis=-1, keepdims=True)
        parents.append(ps)
        cpts.append(np.asarray(table, dtype=np.float64))
    return Network(tuple(variables), tuple(parents), tuple(cpts), name="random")


@st.composite
def hard_evidence(draw: st.DrawFn, network: Network) -> dict[int, int]:
    """A random partial assignment: variable index -> state index."""
    chosen = draw(st.sets(st.integers(0, len(network) - 1)))
    return {v: draw(st.integers(0, network.cards[v] - 1)) for v in sorted(chosen)}
