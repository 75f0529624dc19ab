"""How big a model may grow in memory, checked before anything big is allocated.

A model too big for memory is refused with a `ModelError` that states the size, the node or
clique responsible and the limit, instead of a raw `MemoryError` (or minutes of swapping).

- `MAX_TABLE_ENTRIES` (2**27 entries, 1 GiB as doubles) bounds one conditional table; a
  `Network` refuses a larger one when it is built, before reading its numbers. Model readers
  call `check_table` before they build a table.
- `Limits` bounds compilation: each junction-tree clique (default `MAX_TABLE_ENTRIES` entries)
  and the estimated bytes compiling allocates in all (default `MAX_COMPILED_BYTES`, 4 GiB):
  every clique's table, the prior messages, and the single-row walk's gather indices (one
  per variable homed in a clique and per neighbour). Pass your own to `compile_network(...,
  limits=)` or `Model(..., limits=)` to allow more (or less).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncdx.errors import ModelError

if TYPE_CHECKING:
    from syncdx.network._network import Network

#: Most entries one conditional table, or one junction-tree clique by default, may hold.
MAX_TABLE_ENTRIES = 1 << 27
#: Most bytes compiling a network may allocate by default (see `compiled_bytes`).
MAX_COMPILED_BYTES = 1 << 32
_BYTES = 8  # a double, or a numpy index


@dataclass(frozen=True, slots=True)
class Limits:
    """Most entries of one clique's table, and most bytes compiling may allocate in all."""

    clique_entries: int = MAX_TABLE_ENTRIES
    compiled_bytes: int = MAX_COMPILED_BYTES


def check_table(
    node: str, shape: Sequence[int], *, parents: int, file: str | None = None, field: str = "cpt"
) -> None:
    """Refuse a conditional table of `shape` (for `node`, with `parents` parents, written in
    `field`) that would hold more than `MAX_TABLE_ENTRIES` entries."""
    entries = math.prod(shape)
    if entries > MAX_TABLE_ENTRIES:
        raise ModelError(
            f"its table would hold {entries:,} entries ({_gib(entries)}; {parents} parents), "
            f"over the limit of {MAX_TABLE_ENTRIES:,} entries: give it fewer parents or states",
            file=file,
            node=node,
            field=field,
        )


def check_cliques(
    network: Network,
    cliques: Sequence[tuple[int, ...]],
    cost: Sequence[int],
    limits: Limits,
) -> None:
    """Refuse a junction tree with a clique over `limits.clique_entries` entries, or whose
    compiled arrays (`cost[c]` arrays of clique c's size each) exceed `limits.compiled_bytes`.
    The node named is the one in the largest clique with the most parents."""
    names, file = network.ids(), network.file
    sizes = [math.prod(network.cards[v] for v in clique) for clique in cliques]
    worst = max(range(len(cliques)), key=sizes.__getitem__)
    node = max(cliques[worst], key=lambda v: len(network.parents[v]))
    where = _clique(names, cliques[worst])
    if len(network.parents[node]) + 1 == len(cliques[worst]):
        where += f": node {names[node]!r} and its {len(network.parents[node])} parents"
    if sizes[worst] > limits.clique_entries:
        raise ModelError(
            f"exact inference needs a table of {sizes[worst]:,} entries "
            f"({_gib(sizes[worst])}) over {where}, over the limit of {limits.clique_entries:,} "
            "entries: the network is too densely connected (fewer links, or hidden nodes "
            "grouping causes, would help), or, with the memory to spare, raise the limit: "
            f"limits=syncdx.Limits(clique_entries={sizes[worst]:_})",
            file=file,
            node=names[node],
        )
    total = _BYTES * sum(size * n for size, n in zip(sizes, cost))
    if total > limits.compiled_bytes:
        raise ModelError(
            f"compiling would allocate about {total / 2**30:.1f} GiB (a junction tree of "
            f"{sum(sizes):,} entries in {len(cliques)} tables), over the limit of "
            f"{limits.compiled_bytes / 2**30:.1f} GiB; the largest table ({sizes[worst]:,} "
            f"entries) is over {where}: fewer links would help, or, with the memory to spare, "
            f"raise the limit: limits=syncdx.Limits(compiled_bytes={_round_up(total)})",
            file=file,
            node=names[node],
        )


def _round_up(size: int) -> str:
    """`size` bytes rounded up to whole GiB, as Python reads it (`3 * 2**30`)."""
    return f"{-(-size // 2**30)} * 2**30"


def _clique(names: Sequence[str], clique: tuple[int, ...]) -> str:
    """A clique as a person reads it: its first few node names and how many more."""
    shown = ", ".join(repr(names[v]) for v in clique[:6])
    more = f" and {len(clique) - 6} more" if len(clique) > 6 else ""
    return f"the {len(clique)} nodes {shown}{more}"


def _gib(entries: int) -> str:
    return f"{entries * _BYTES / 2**30:,.1f} GiB as doubles"
