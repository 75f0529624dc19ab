"""A layered drawing of a network: causes on top, then hidden nodes, then observations.

Sugiyama's method, as graphviz's dot does it, in plain Python: (1) layers by longest path from
the roots, each node then pulled down next to its children (a cause never below a hidden node),
observations without children on the bottom layer; (2) a chain of dummy points through every
layer an edge skips; (3) the order within each layer from barycentric sweeps (each node at the
mean position of its neighbours in the layer above, then below) with adjacent transpositions,
keeping the order with the fewest crossings; (4) x positions pulled toward the neighbours' mean,
in order, a unit apart. Crossings depend on the orders alone: two edges between adjacent layers
cross exactly when their ends come in opposite orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from syncdx.network._network import Network

#: Rounds of down-and-up barycentric sweeps.
SWEEPS = 12
#: Rounds of pulling x positions toward the neighbours' mean.
PLACEMENT_ROUNDS = 8

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Drawing:
    """Where every node goes (`positions`, x to the right, y up, the top layer highest) and
    the polyline each edge follows (`routes`, parent to child, through its dummy points)."""

    positions: dict[str, Point]
    routes: dict[tuple[str, str], tuple[Point, ...]]
    layers: tuple[tuple[str, ...], ...]
    crossings: int


def layered_drawing(network: Network, edges: Sequence[tuple[str, str]] = ()) -> Drawing:
    """The layered drawing of `network` and any extra `edges` (e.g. action -> cause, the action
    ids being new nodes placed above the causes)."""
    nodes, graph = _graph(network, edges)
    layer = _layers(nodes, graph, network)
    rows, parents, chains = _with_dummies(nodes, graph, layer)
    rows = _order(rows, parents)
    x = _place(rows, parents)
    depth = len(rows) - 1
    position = {v: (x[v], float(depth - i)) for i, row in enumerate(rows) for v in row}
    routes = {
        (u, v): tuple(position[p] for p in (u, *chains[u, v], v)) for u, v in _edge_list(graph)
    }
    real = tuple(tuple(v for v in row if not v.startswith("\0")) for row in rows)
    return Drawing({v: position[v] for v in nodes}, routes, real, count_crossings(rows, parents))


def _graph(
    network: Network, extra: Sequence[tuple[str, str]]
) -> tuple[list[str], dict[str, list[str]]]:
    """Nodes (extra sources first) and {node: children}."""
    extra_nodes = [u for u, _ in extra if u not in network.index]
    nodes = list(dict.fromkeys([*extra_nodes, *network.ids()]))
    children: dict[str, list[str]] = {v: [] for v in nodes}
    for variable, ps in zip(network.variables, network.parents):
        for p in ps:
            children[network.variables[p].id].append(variable.id)
    for u, v in extra:
        children[u].append(v)
    return nodes, children


def _edge_list(graph: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(u, v) for u, vs in graph.items() for v in vs]


def _layers(nodes: list[str], children: dict[str, list[str]], network: Network) -> dict[str, int]:
    """Longest path from the top, then each node as low as its children allow; childless
    observations on the bottom layer."""
    parents: dict[str, list[str]] = {v: [] for v in nodes}
    for u, vs in children.items():
        for v in vs:
            parents[v].append(u)
    layer: dict[str, int] = {}
    for v in nodes:  # nodes come parents first (extra sources, then topological order)
        layer[v] = 1 + max((layer[p] for p in parents[v]), default=-1)
    bottom = max(layer.values())
    hidden = [layer[v] for v in network.ids("hidden")]
    cause_floor = min(hidden) - 1 if hidden else bottom  # causes stay above hidden nodes
    causes = set(network.ids("cause"))
    for v in reversed(nodes):
        kids = children[v]
        if kids:
            lowest = min(layer[c] for c in kids) - 1
            if v in causes:
                lowest = min(lowest, max(cause_floor, layer[v]))
            if lowest > layer[v]:
                layer[v] = lowest
        elif parents[v] and v in network.index and network.variable(v).role == "observation":
            layer[v] = bottom
    return layer


def _with_dummies(
    nodes: list[str], children: dict[str, list[str]], layer: dict[str, int]
) -> tuple[list[list[str]], dict[str, list[str]], dict[tuple[str, str], list[str]]]:
    """Rows of nodes per layer, every edge cut into one-layer steps by dummy nodes (named
    "\\0u\\0v\\0k"), each node's parents one layer up, and each edge's dummies in order."""
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for v in nodes:
        rows[layer[v]].append(v)
    parents: dict[str, list[str]] = {v: [] for v in nodes}
    chains: dict[tuple[str, str], list[str]] = {}
    for u, v in _edge_list(children):
        chain = [f"\0{u}\0{v}\0{k}" for k in range(layer[u] + 1, layer[v])]
        for k, dummy in zip(range(layer[u] + 1, layer[v]), chain):
            rows[k].append(dummy)
        for a, b in pairwise([u, *chain, v]):
            parents.setdefault(b, []).append(a)
        chains[u, v] = chain
    return rows, parents, chains


def count_crossings(rows: list[list[str]], parents: dict[str, list[str]]) -> int:
    """Edge crossings between adjacent layers, counted from the orders."""
    total = 0
    for upper, lower in pairwise(rows):
        total += _pair_crossings(upper, lower, parents)
    return total


def _pair_crossings(upper: list[str], lower: list[str], parents: dict[str, list[str]]) -> int:
    rank = {v: i for i, v in enumerate(upper)}
    ends = sorted((j, rank[p]) for j, v in enumerate(lower) for p in parents.get(v, ()))
    seen: list[int] = []  # upper ranks of the edges so far, by lower end; count inversions
    crossings = 0
    for _, r in ends:  # equal lower ends share a node and never cross; sorted (j, r) keeps it
        crossings += sum(1 for s in seen if s > r)
        seen.append(r)
    return crossings


def _order(rows: list[list[str]], parents: dict[str, list[str]]) -> list[list[str]]:
    """Orders within layers with few crossings: barycentric sweeps and transpositions."""
    children: dict[str, list[str]] = {}
    for v, ps in parents.items():
        for p in ps:
            children.setdefault(p, []).append(v)
    best = [list(r) for r in rows]
    best_count = count_crossings(best, parents)
    current = [list(r) for r in rows]
    for _ in range(SWEEPS):
        for i in range(1, len(current)):
            current[i] = _by_barycentre(current[i], current[i - 1], parents)
        for i in range(len(current) - 2, -1, -1):
            current[i] = _by_barycentre(current[i], current[i + 1], children)
        _transpose(current, parents, children)
        count = count_crossings(current, parents)
        if count < best_count:
            best, best_count = [list(r) for r in current], count
    return best


def _by_barycentre(row: list[str], fixed: list[str], links: dict[str, list[str]]) -> list[str]:
    """`row` sorted by the mean position of each node's links in `fixed` (no links: stay)."""
    rank = {v: i for i, v in enumerate(fixed)}
    keys = []
    for i, v in enumerate(row):
        linked = [rank[u] for u in links.get(v, ()) if u in rank]
        keys.append((sum(linked) / len(linked) if linked else float(i), i))
    return [row[i] for _, i in sorted(keys)]


def _transpose(
    rows: list[list[str]], parents: dict[str, list[str]], children: dict[str, list[str]]
) -> None:
    """Swap neighbours in a layer while that lowers the crossings with both adjacent layers."""
    improved = True
    while improved:
        improved = False
        for i, row in enumerate(rows):
            for j in range(len(row) - 1):
                before = _local(rows, i, parents)
                row[j], row[j + 1] = row[j + 1], row[j]
                if _local(rows, i, parents) < before:
                    improved = True
                else:
                    row[j], row[j + 1] = row[j + 1], row[j]


def _local(rows: list[list[str]], i: int, parents: dict[str, list[str]]) -> int:
    """Crossings between layer i and its neighbours."""
    above = _pair_crossings(rows[i - 1], rows[i], parents) if i > 0 else 0
    below = _pair_crossings(rows[i], rows[i + 1], parents) if i + 1 < len(rows) else 0
    return above + below


def _place(rows: list[list[str]], parents: dict[str, list[str]]) -> dict[str, float]:
    """x positions: in order, a unit apart, each pulled toward its neighbours' mean."""
    neighbours: dict[str, list[str]] = {v: list(ps) for v, ps in parents.items()}
    for v, ps in parents.items():
        for p in ps:
            neighbours.setdefault(p, []).append(v)
    x = {v: float(j) - (len(row) - 1) / 2 for row in rows for j, v in enumerate(row)}
    for _ in range(PLACEMENT_ROUNDS):
        for row in rows:
            wanted = [
                sum(x[u] for u in neighbours.get(v, ())) / len(neighbours[v])
                if neighbours.get(v)
                else x[v]
                for v in row
            ]
            for v, w in zip(row, _spread(wanted)):
                x[v] = w
    return x


def _spread(wanted: list[float]) -> list[float]:
    """The closest positions to `wanted`, in the same order, at least a unit apart."""
    out: list[float] = []
    for w in wanted:
        out.append(max(w, out[-1] + 1.0) if out else w)
    shift = (sum(wanted) - sum(out)) / len(out) if out else 0.0
    out = [v + shift for v in out]
    for k in range(len(out) - 2, -1, -1):  # keep the order after the shift
        out[k] = min(out[k], out[k + 1] - 1.0)
    return out
