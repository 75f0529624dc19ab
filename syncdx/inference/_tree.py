"""`Cliques`: the structure and prior messages of a compiled junction tree, as plain values.

What a pass over the tree reads and nothing else: the single-row walk (`_rowpass`) takes it, and
`_engine.JunctionTree` extends it with the network, the caches and the batched plans. It sits
below both so that imports in the engine point one way: engine -> rowpass -> tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncdx.network._network import FloatArray

#: A directed edge of the tree: (sending clique, receiving clique).
Edge = tuple[int, int]


@dataclass(frozen=True, slots=True, eq=False)
class Cliques:
    """A junction tree's cliques, tables and prior messages (no evidence).

    `side[(s, t)]` is the bit mask of the cliques on the sending side of edge (s, t); `homed[c]`
    the variables whose home is clique c; `parts[c]` the factors of `base[c]`; `inward_log[c]`
    the log scale factors of the prior messages towards c; totals below `tiny` mark a row for
    the extended-precision tree (0: this tree is the last word).
    """

    cards: tuple[int, ...]
    cliques: tuple[tuple[int, ...], ...]
    neighbours: tuple[tuple[int, ...], ...]
    base: tuple[FloatArray, ...]
    home: tuple[int, ...]
    prior: Mapping[Edge, FloatArray]
    prior_log: Mapping[Edge, float]
    side: Mapping[Edge, int]
    separators: Mapping[Edge, tuple[int, ...]]
    homed: tuple[tuple[int, ...], ...]
    inward_log: tuple[float, ...]
    tiny: float
    #: per clique, the conditional tables multiplied into it, each broadcasting over its axes
    parts: tuple[tuple[FloatArray, ...], ...]
