"""Forward sampling: draw complete cases from a network, optionally with some nodes fixed.

Used to make realistic sample reports and to simulate troubleshooting sessions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from syncdx.network._network import Network

StateArray = npt.NDArray[np.int64]


def sample(
    network: Network,
    size: int,
    rng: np.random.Generator,
    fixed: Mapping[str, StateArray | int] | None = None,
) -> StateArray:
    """(size, variables) state indices drawn from the network, in model order.

    `fixed` sets some nodes (to one state, or one state per row) instead of drawing them; their
    descendants are drawn given those values (an intervention, not conditioning).
    """
    fixed = fixed or {}
    states = np.zeros((size, len(network)), dtype=np.int64)
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        name = network.variables[var].id
        if name in fixed:
            states[:, var] = fixed[name]
            continue
        rows = (
            cpt[tuple(states[:, p] for p in parents)]
            if parents
            else np.broadcast_to(cpt, (size, cpt.size))
        )
        states[:, var] = _draw(rows, rng)
    return states


def _draw(probabilities: npt.NDArray[np.float64], rng: np.random.Generator) -> StateArray:
    """One category per row of a (rows, states) probability array (inverse CDF)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random((len(probabilities), 1)) * cumulative[:, -1:]
    drawn = np.minimum((u >= cumulative).sum(axis=1), probabilities.shape[1] - 1)
    return np.asarray(drawn, dtype=np.int64)
