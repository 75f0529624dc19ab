"""Junction-tree shape: moral graph, elimination order, clique tree, merging; walks and covers.

Everything here works on variable indices and cardinalities only; the engine puts the numbers in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def junction_tree(
    cards: Sequence[int], parents: Sequence[tuple[int, ...]], merge_below: int = 0
) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """Cliques (sorted variable tuples) and each clique's neighbours in a junction tree.

    Adjacent cliques whose union has at most `merge_below` table entries are merged, which
    cuts the number of messages without raising the width much.
    """
    families = [(*ps, i) for i, ps in enumerate(parents)]
    order, elimination_cliques = _eliminate(_moral_graph(len(cards), families), cards)
    cliques, edges = _clique_tree(order, elimination_cliques)
    if merge_below:
        _merge_small(cliques, edges, cards, merge_below)
    keep = sorted(c for c in range(len(cliques)) if cliques[c] is not None)
    renumber = {old: new for new, old in enumerate(keep)}
    return (
        tuple(tuple(sorted(cliques[old] or ())) for old in keep),
        tuple(tuple(sorted(renumber[n] for n in edges[old])) for old in keep),
    )


def _moral_graph(n: int, families: Sequence[tuple[int, ...]]) -> list[set[int]]:
    adjacency: list[set[int]] = [set() for _ in range(n)]
    for family in families:
        for a in family:
            adjacency[a].update(b for b in family if b != a)
    return adjacency


def _eliminate(
    adjacency: list[set[int]], cards: Sequence[int]
) -> tuple[list[int], list[frozenset[int]]]:
    """Greedy min-fill elimination order (ties: smallest clique table) and its cliques."""
    graph = [set(nbrs) for nbrs in adjacency]
    alive = set(range(len(graph)))
    order: list[int] = []
    cliques: list[frozenset[int]] = []

    def cost(v: int) -> tuple[int, float]:
        nbrs = list(graph[v])
        fill = sum(1 for i, a in enumerate(nbrs) for b in nbrs[i + 1 :] if b not in graph[a])
        return fill, sum(math.log(cards[u]) for u in (v, *nbrs))

    while alive:
        v = min(sorted(alive), key=cost)
        nbrs = graph[v]
        for a in nbrs:
            graph[a].update(nbrs - {a})
            graph[a].discard(v)
        order.append(v)
        cliques.append(frozenset({v, *nbrs}))
        alive.remove(v)
    return order, cliques


def _clique_tree(
    order: Sequence[int], cliques: Sequence[frozenset[int]]
) -> tuple[list[frozenset[int] | None], list[set[int]]]:
    """The elimination tree over maximal cliques (a forest joined at its roots); None = gone."""
    position = {v: i for i, v in enumerate(order)}
    parent: list[int | None] = []
    for i, clique in enumerate(cliques):
        rest = [position[u] for u in clique if u != order[i]]
        parent.append(min(rest) if rest else None)
    roots = [i for i, p in enumerate(parent) if p is None]
    for r in roots[:-1]:
        parent[r] = roots[-1]  # join a forest's trees through empty separators
    edges = [set[int]() for _ in cliques]
    for i, p in enumerate(parent):
        if p is not None:
            edges[i].add(p)
            edges[p].add(i)
    alive: list[frozenset[int] | None] = list(cliques)
    changed = True
    while changed:  # absorb every clique that is a subset of a neighbour
        changed = False
        for a, ca in enumerate(alive):
            b = next(
                (b for b in sorted(edges[a]) if ca is not None and ca <= (alive[b] or frozenset())),
                None,
            )
            if b is not None:
                _contract(alive, edges, a, b)
                changed = True
    return alive, edges


def _contract(cliques: list[frozenset[int] | None], edges: list[set[int]], a: int, b: int) -> None:
    """Merge clique `a` into its neighbour `b` (b takes the union and a's other neighbours)."""
    for n in edges[a] - {b}:
        edges[n].discard(a)
        edges[n].add(b)
        edges[b].add(n)
    edges[b].discard(a)
    edges[a].clear()
    cliques[b] = (cliques[a] or frozenset()) | (cliques[b] or frozenset())
    cliques[a] = None


def _merge_small(
    cliques: list[frozenset[int] | None], edges: list[set[int]], cards: Sequence[int], limit: int
) -> None:
    """Greedily merge the adjacent pair with the smallest union while it has <= `limit` entries."""

    def size(vs: frozenset[int]) -> int:
        return math.prod(cards[v] for v in vs)

    while True:
        pairs = [
            (size(ca | cb), a, b)
            for a, ca in enumerate(cliques)
            if ca is not None
            for b in edges[a]
            if a < b and (cb := cliques[b]) is not None
        ]
        best = min(pairs, default=None)
        if best is None or best[0] > limit:
            return
        _contract(cliques, edges, best[1], best[2])


def towards(neighbours: Sequence[tuple[int, ...]], root: int) -> list[tuple[int, int]]:
    """The directed edges of a tree towards `root`, root first (each edge before those beyond)."""
    edges, stack = [], [(root, -1)]
    while stack:
        c, parent = stack.pop()
        for n in neighbours[c]:
            if n != parent:
                edges.append((n, c))
                stack.append((n, c))
    return edges


def cover(cliques: Sequence[tuple[int, ...]], targets: Iterable[int]) -> dict[int, list[int]]:
    """Few cliques holding all targets (greedy set cover): clique -> its targets."""
    left = set(targets)
    groups: dict[int, list[int]] = {}
    while left:
        best = max(range(len(cliques)), key=lambda c: (len(left.intersection(cliques[c])), -c))
        groups[best] = [v for v in cliques[best] if v in left]
        left.difference_update(cliques[best])
    return groups


def separator(cliques: Sequence[tuple[int, ...]], a: int, b: int) -> tuple[int, ...]:
    """The variables cliques `a` and `b` share, in order."""
    return tuple(v for v in cliques[a] if v in cliques[b])


def columns(variables: Iterable[int], cards: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """(variable, start, stop) of each variable's states in a concatenated output."""
    out, start = [], 0
    for v in variables:
        out.append((v, start, start + cards[v]))
        start += cards[v]
    return tuple(out)


def fields(home: Sequence[int], cliques: int, bits: int) -> int:
    """Ones in the `bits`-wide field of each variable homed in the `cliques` bit mask."""
    ones = (1 << bits) - 1
    return sum(ones << (v * bits) for v, c in enumerate(home) if cliques >> c & 1)
