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
    states = np.zeros((size, len(network)), dtype=np.int64, order="F")  # columns contiguous
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        name = network.variables[var].id
        if name in fixed:
            states[:, var] = fixed[name]
            continue
        thresholds = _thresholds(cpt)
        rows = _configuration(states, parents, cpt.shape) if parents else 0
        cut = thresholds[rows].reshape(-1, thresholds.shape[1])
        u = rng.random(size)
        states[:, var] = u >= cut[:, 0] if cut.shape[1] == 1 else (u[:, None] >= cut).sum(axis=1)
    return states


def _thresholds(cpt: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(parent configurations, states - 1) cumulative probabilities, normalised, at which the
    drawn state moves to the next one (inverse CDF)."""
    table = cpt.reshape(-1, cpt.shape[-1])
    cumulative = np.cumsum(table, axis=1)
    return cumulative[:, :-1] / cumulative[:, -1:]


def _configuration(
    states: StateArray, parents: tuple[int, ...], shape: tuple[int, ...]
) -> npt.NDArray[np.intp]:
    """Each row's parent configuration, as a row index of the table flattened to 2-d."""
    index = np.zeros(len(states), dtype=np.intp)
    for parent, card in zip(parents, shape[:-1]):
        index = index * card + states[:, parent]
    return index
