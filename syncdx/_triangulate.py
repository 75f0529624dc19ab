"""Junction-tree shape: moral graph, greedy elimination order, clique tree, merging small cliques.

Everything here works on variable indices and cardinalities only; the engine puts the numbers in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


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
