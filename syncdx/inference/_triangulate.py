"""Junction-tree shape: moral graph, elimination order, clique tree, merging; walks and covers.

Everything here works on variable indices and cardinalities only; the engine puts the numbers in.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction


def junction_tree(
    cards: Sequence[int], parents: Sequence[tuple[int, ...]], merge_below: int = 0
) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """Cliques (sorted variable tuples) and each clique's neighbours in a junction tree.

    Adjacent cliques whose union has at most `merge_below` table entries are merged, which
    cuts the number of messages without raising the width much.
    """
    families = [(*ps, i) for i, ps in enumerate(parents)]
    order, elimination_cliques = _elimination(_moral_graph(len(cards), families), cards)
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


#: Randomized elimination tries after the three plain ones (each try's fill-in scaled by
#: random factors from a fixed seed: the tree is the same at every compile).
_TRIES = 12
#: Work the extra tries may take in all, in units of the sum over a try's elimination cliques
#: of their squared variable counts (the first try's sum says what one try costs; a unit is
#: about a microsecond): pgmpy's bundled networks get all tries (link, 724 nodes, ten), a
#: sparse 5,000-node network two, a 20,000-node one none (compiling stays near-linear).
_WORK = 300_000
#: How a try ranks the node to eliminate next from (fill-in edges, fill-in weight, clique
#: entries); the weight of a fill-in edge is the product of its ends' states.
Key = Callable[[int, int, int], tuple[float, ...]]


def _elimination(
    adjacency: list[set[int]], cards: Sequence[int]
) -> tuple[list[int], list[frozenset[int]]]:
    """The elimination order (and its cliques) whose maximal cliques hold the fewest entries
    among a few greedy tries: min-fill (ties: the smaller clique), weighted min-fill, min-weight
    with simplicial nodes first, then min-fill and weighted min-fill with each fill-in scaled
    by a random factor in [1, 2), as many as `_WORK` allows. A graph that min-fill triangulates
    without fill-in (a forest, a polytree's chordal moral graph) has no better order: it is
    kept after one try."""
    first = _eliminate(adjacency, cards)
    if sum(len(c) - 1 for c in first[1]) == sum(len(a) for a in adjacency) // 2:
        return first
    affordable = _WORK // max(1, sum(len(c) ** 2 for c in first[1]))
    keys: list[tuple[Key, bool]] = [(lambda f, w, s: (w, s), True)]
    keys += [(lambda f, w, s: (f > 0, s, f), False)]
    keys += [(_noisy(seed), seed % 2 == 1) for seed in range(_TRIES)]
    chosen = enumerate(keys[:affordable])
    tries = [first, *(_eliminate(adjacency, cards, k, seed, w) for seed, (k, w) in chosen)]
    return min(tries, key=lambda t: _entries(t[0], t[1], cards))


def _noisy(seed: int) -> Key:
    """Min-fill (even seeds) or weighted min-fill (odd), each fill-in scaled by a random factor
    in [1, 2) drawn from `seed`; ties: the smaller clique."""
    uniform = random.Random(seed).uniform

    def key(fill: int, weight: int, size: int) -> tuple[float, ...]:
        return ((weight if seed % 2 else fill) * uniform(1.0, 2.0), size)

    return key


def _entries(order: Sequence[int], cliques: Sequence[frozenset[int]], cards: Sequence[int]) -> int:
    """Entries of the maximal cliques of an elimination: clique i is not maximal exactly when
    a clique eliminated before it has one variable more and i's node as its first neighbour
    eliminated (Blair and Peyton's test: linear in the cliques' sizes)."""
    position = {v: i for i, v in enumerate(order)}
    covered = [False] * len(order)
    for clique, v in zip(cliques, order):
        rest = [position[u] for u in clique if u != v]
        if rest and len(clique) == len(cliques[min(rest)]) + 1:
            covered[min(rest)] = True
    return sum(_size(c, cards) for c, gone in zip(cliques, covered) if not gone)


def _eliminate(
    adjacency: list[set[int]],
    cards: Sequence[int],
    key: Key = lambda f, w, s: (f, s),
    seed: int = -1,
    weighted: bool = False,
) -> tuple[list[int], list[frozenset[int]]]:
    """Greedy elimination order by `key` (default: min-fill, ties the smallest clique table;
    last ties: the lowest index, or a random rank from `seed` if >= 0; the fill-in weight is
    computed, for `key`, only if `weighted`) and its cliques. The
    keys sit in a heap, stale entries skipped when popped; eliminating a node recomputes only
    the costs it can change: its neighbours', and those of the nodes adjacent to both ends of
    a fill-in edge (near-linear on sparse graphs)."""
    graph = [set(nbrs) for nbrs in adjacency]
    rank = list(range(len(graph)))
    if seed >= 0:
        random.Random(seed).shuffle(rank)
    keys = [key(*_cost(graph, cards, v, weighted)) for v in range(len(graph))]
    heap = [(k, rank[v], v) for v, k in enumerate(keys)]
    heapq.heapify(heap)
    eliminated = [False] * len(graph)
    order: list[int] = []
    cliques: list[frozenset[int]] = []
    while heap:
        k, _, v = heapq.heappop(heap)
        if eliminated[v] or keys[v] != k:
            continue
        eliminated[v] = True
        order.append(v)
        cliques.append(frozenset({v, *graph[v]}))
        for u in _remove(graph, v):
            keys[u] = key(*_cost(graph, cards, u, weighted))
            heapq.heappush(heap, (keys[u], rank[u], u))
    return order, cliques


def _cost(
    graph: Sequence[set[int]], cards: Sequence[int], v: int, weighted: bool = True
) -> tuple[int, int, int]:
    """Fill-in edges that eliminating `v` adds, their weight (the product of their ends'
    states, summed; 0 unless `weighted`) and the entries of the clique it makes."""
    nbrs = graph[v]
    states = cards.__getitem__
    others = len(nbrs) - 1
    size = math.prod(map(states, nbrs)) * states(v)
    # each neighbour a misses the others outside N(v) & N(a); the intersections run over the
    # smaller set, so a hub with a thousand leaf neighbours costs O(deg), not O(deg^2)
    if not weighted:
        return sum(others - len(nbrs & graph[a]) for a in nbrs) // 2, 0, size
    total, missing, weight = sum(map(states, nbrs)), 0, 0
    for a in nbrs:
        common = nbrs & graph[a]
        if len(common) < others:
            missing += others - len(common)
            weight += states(a) * (total - states(a) - sum(map(states, common)))
    return missing // 2, weight // 2, size


def _remove(graph: list[set[int]], v: int) -> set[int]:
    """Eliminate `v`: join its neighbours pairwise and drop it; return the nodes whose cost
    may have changed."""
    nbrs = graph[v]
    touched = set(nbrs)
    for a in nbrs:
        graph[a].discard(v)
    for a in nbrs:
        for b in nbrs:
            if a < b and b not in graph[a]:
                touched.update(graph[a] & graph[b])
                graph[a].add(b)
                graph[b].add(a)
    graph[v] = set()
    return touched


def _clique_tree(
    order: Sequence[int], cliques: Sequence[frozenset[int]]
) -> tuple[list[frozenset[int] | None], list[set[int]]]:
    """The elimination tree over maximal cliques (a forest joined at its roots); None = gone."""
    position = {v: i for i, v in enumerate(order)}
    parent: list[int | None] = []
    for i, clique in enumerate(cliques):
        rest = [position[u] for u in clique if u != order[i]]
        parent.append(min(rest) if rest else None)
    roots = [i for i, p in enumerate(parent) if p is None][::-1]
    for i, r in enumerate(roots[1:], 1):  # join a forest's trees through empty separators,
        parent[r] = roots[(i - 1) // 2]  # as a binary heap: no clique gains over 3 neighbours
    edges = [set[int]() for _ in cliques]
    for i, p in enumerate(parent):
        if p is not None:
            edges[i].add(p)
            edges[p].add(i)
    alive: list[frozenset[int] | None] = list(cliques)
    _absorb(alive, edges)
    return alive, edges


def _absorb(cliques: list[frozenset[int] | None], edges: list[set[int]]) -> None:
    """Contract every clique that is a subset of a neighbour into it. A work list: a clique
    is checked again only when its neighbours change."""
    work = deque(range(len(cliques)))
    queued = [True] * len(cliques)
    while work:
        a = work.popleft()
        queued[a] = False
        ca = cliques[a]
        if ca is None:
            continue
        b = next((b for b in sorted(edges[a]) if ca <= (cliques[b] or frozenset())), None)
        if b is None:
            continue
        for n in (b, *edges[a]):
            if not queued[n]:
                queued[n] = True
                work.append(n)
        _contract(cliques, edges, a, b)


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
    """Greedily merge the adjacent pair with the smallest union while it has <= `limit` entries
    (ties: the lowest indices) and no more than the two tables had together, so merging never
    grows the tree. Pairs sit in a heap; an entry is stale once either clique has changed since
    it was pushed."""
    version = [0] * len(cliques)
    heap = [
        (_size(ca | cb, cards), a, b, 0, 0)
        for a, ca in enumerate(cliques)
        if ca is not None
        for b in edges[a]
        if a < b and (cb := cliques[b]) is not None
    ]
    heapq.heapify(heap)
    while heap and heap[0][0] <= limit:
        _, a, b, va, vb = heapq.heappop(heap)
        if (va, vb) != (version[a], version[b]) or cliques[a] is None or cliques[b] is None:
            continue
        left, right = cliques[a] or frozenset(), cliques[b] or frozenset()
        if _size(left | right, cards) > _size(left, cards) + _size(right, cards):
            continue
        _contract(cliques, edges, a, b)
        version[a] += 1
        version[b] += 1
        cb = cliques[b] or frozenset()
        for n in edges[b]:
            cn = cliques[n] or frozenset()
            lo, hi = min(n, b), max(n, b)
            heapq.heappush(heap, (_size(cb | cn, cards), lo, hi, version[lo], version[hi]))


def _size(variables: frozenset[int], cards: Sequence[int]) -> int:
    """Entries of the table over `variables`."""
    return math.prod(cards[v] for v in variables)


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


def holders(cliques: Sequence[tuple[int, ...]], variables: int) -> list[list[int]]:
    """For each variable, the cliques that hold it, in increasing order."""
    out: list[list[int]] = [[] for _ in range(variables)]
    for c, clique in enumerate(cliques):
        for v in clique:
            out[v].append(c)
    return out


def smallest(cliques: Sequence[tuple[int, ...]], among: Iterable[int]) -> int:
    """The clique with the fewest variables `among` the given ones (ties: the first)."""
    return min(among, key=lambda c: len(cliques[c]))


def live_inward(
    neighbours: Sequence[tuple[int, ...]], side: Mapping[tuple[int, int], int], root: int, mask: int
) -> list[tuple[int, int]]:
    """The edges towards `root` whose sending side meets the clique bit `mask`, each after
    every edge beyond it (the order of `towards`, reversed); dead subtrees are not visited."""
    edges, stack = [], [(root, -1)]
    while stack:
        c, parent = stack.pop()
        for n in neighbours[c]:
            if n != parent and side[(n, c)] & mask:
                edges.append((n, c))
                stack.append((n, c))
    return edges[::-1]


def inward_sums(
    neighbours: Sequence[tuple[int, ...]], weight: Mapping[tuple[int, int], float]
) -> list[float]:
    """Per clique, the sum of `weight` over every edge directed towards it, correctly rounded
    (as `math.fsum`), in O(edges): the exact sum at clique 0, then moved along each edge (one
    edge turns round per step), in exact rationals."""
    exact = [Fraction(0)] * len(neighbours)
    exact[0] = sum((Fraction(weight[e]) for e in towards(neighbours, 0)), Fraction(0))
    for n, c in towards(neighbours, 0):  # c is nearer clique 0: its sum is known
        exact[n] = exact[c] - Fraction(weight[(n, c)]) + Fraction(weight[(c, n)])
    return [float(x) for x in exact]


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
