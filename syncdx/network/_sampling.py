"""Forward sampling: draw complete cases from a network, optionally with some nodes fixed.

Used to make realistic sample reports and to simulate troubleshooting sessions. Vectorised per
node over all rows: each node's states are drawn at once by inverse CDF, one uniform per row,
from its table's row for each row's parent configuration. The states are kept as small integer
codes, one contiguous array per variable (`sample_codes`, variables first), which is what the
simulator reads; `sample` gives the same draws as one (rows, variables) int64 array.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from syncdx.network._network import Network

StateArray = npt.NDArray[np.int64]
#: (variables, rows) state codes, each variable's row contiguous.
CodeRows = npt.NDArray[np.int16]


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
    codes = sample_codes(network, size, rng, fixed)
    return np.asarray(codes.T.astype(np.int64), dtype=np.int64)  # columns stay contiguous


def sample_codes(
    network: Network,
    size: int,
    rng: np.random.Generator,
    fixed: Mapping[str, StateArray | int] | None = None,
) -> CodeRows:
    """`sample`'s draws as (variables, size) int16 codes: row v holds variable v's states.

    Draws consume `rng` exactly as `sample` does (one uniform per row per drawn node, in model
    order), so a seed gives the same cases either way.
    """
    fixed = fixed or {}
    codes = np.empty((len(network), size), dtype=np.int16)
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        name = network.variables[var].id
        if name in fixed:
            codes[var] = fixed[name]
            continue
        cut = _thresholds(cpt)
        rows = _configuration(codes, parents, cpt.shape) if parents else None
        u = rng.random(size)
        codes[var] = u >= _column(cut, 0, rows)
        for k in range(1, cut.shape[1]):  # the cuts of a row rise: count those passed
            codes[var] += u >= _column(cut, k, rows)
    return codes


def _column(
    cut: npt.NDArray[np.float64], k: int, rows: npt.NDArray[np.intp] | None
) -> npt.NDArray[np.float64] | np.float64:
    """Cut k for every row: one number for a root, else gathered by parent configuration."""
    return cut[0, k] if rows is None else cut[:, k].take(rows)


def _thresholds(cpt: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(parent configurations, states - 1) cumulative probabilities, normalised, at which the
    drawn state moves to the next one (inverse CDF)."""
    table = cpt.reshape(-1, cpt.shape[-1])
    cumulative = np.cumsum(table, axis=1)
    return cumulative[:, :-1] / cumulative[:, -1:]


def _configuration(
    codes: CodeRows, parents: tuple[int, ...], shape: tuple[int, ...]
) -> npt.NDArray[np.intp]:
    """Each row's parent configuration, as a row index of the table flattened to 2-d."""
    index: npt.NDArray[np.intp] = codes[parents[0]].astype(np.intp)
    for parent, card in zip(parents[1:], shape[1:-1]):
        index *= card
        index += codes[parent]
    return index
