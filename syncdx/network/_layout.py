"""A layered drawing of a network: causes on top, then hidden nodes, then observations.

Sugiyama's method, as graphviz's dot does it, in plain Python: (1) layers by longest path from
the roots, each node then pulled down next to its children (a cause never below a hidden node),
observations without children on the bottom layer; (2) a chain of dummy points through every
layer an edge skips; (3) the order within each layer from barycentric sweeps (each node at the
mean position of its neighbours in the layer above, then below) with adjacent transpositions,
keeping the order with the fewest crossings; (4) x positions pulled toward the neighbours' mean,
in order, a unit apart. Crossings depend on the orders alone: two edges between adjacent layers
cross exactly when their ends come in opposite orders. `fit_to_page` then sizes the drawing for a
page: each node a box around its label, each layer at most a page wide, a crowded layer folded
into sub-rows (its nodes taking turns, so a label has the room of several places), keeping the
orders.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise

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
    seen: list[int] = []  # upper ranks of the edges so far, sorted; count inversions
    crossings = 0
    for _, r in ends:  # equal lower ends share a node and never cross; sorted (j, r) keeps it
        crossings += len(seen) - bisect.bisect_right(seen, r)
        bisect.insort(seen, r)
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


# -- fitting a drawing to a page ----------------------------------------------------------------
#: Most sub-rows a crowded layer is folded into.
MAX_FOLD = 5
#: Inches between two boxes side by side, between a layer's sub-rows, and between layers (room
#: for the edges); the least room an edge passing through a layer takes.
BOX_GAP, ROW_GAP, LAYER_GAP, EDGE_ROOM = 0.08, 0.1, 0.45, 0.06


#: A node of a layer, or the k-th point of an edge through it: ((parent, child), k).
Item = str | tuple[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class Page:
    """A drawing fitted to a page of `width` x `height` inches: `drawing` in inches (x to the
    right, y up, from the bottom left), `folds` sub-rows per layer."""

    drawing: Drawing
    width: float
    height: float
    folds: tuple[int, ...]


def fit_to_page(drawing: Drawing, boxes: dict[str, tuple[float, float]], max_width: float) -> Page:
    """`drawing` with its layers' orders kept, each node a box of (width, height) inches:
    each layer as narrow as its boxes allow and at most `max_width` wide, a crowded layer
    folded into sub-rows (its nodes in order taking turns: with k sub-rows, neighbours in a
    sub-row are k places apart), the layers stacked top to bottom."""
    rows = _rows(drawing)
    widest = max(w for w, _ in boxes.values())  # some room besides the narrowest fit
    width = min(max_width, max(_length(row, boxes, 1) for row in rows) + widest)
    low, high = _span(drawing)
    folds: list[int] = []
    x: dict[Item, float] = {}
    for row in rows:
        fold = next((k for k in range(1, MAX_FOLD) if _length(row, boxes, k) <= width), MAX_FOLD)
        folds.append(fold)
        wanted = [(_x(item, drawing) - low) / max(high - low, 1e-9) * width for item in row]
        wide = _widest(row, boxes)
        gaps = [_gap(a, b, wide, fold) for a, b in pairwise(row)]
        halves = [_half(item, boxes) for item in row]
        x.update(zip(row, _within(wanted, gaps, halves, width)))
    y, height = _heights(rows, boxes, folds)
    return Page(_placed(drawing, rows, x, y), width, height, tuple(folds))


def _rows(drawing: Drawing) -> list[list[Item]]:
    """Each layer's nodes and edge points (an edge's k-th dummy as ((u, v), k)), by x."""
    depth = len(drawing.layers)
    rows: list[list[Item]] = [list(layer) for layer in drawing.layers]
    for edge, route in drawing.routes.items():
        for k, (_, y) in enumerate(route[1:-1], start=1):
            rows[depth - 1 - round(y)].append((edge, k))
    return [sorted(row, key=lambda item: _x(item, drawing)) for row in rows]


def _x(item: Item, drawing: Drawing) -> float:
    """Where `item` is across its layer in `drawing`."""
    if isinstance(item, str):
        return drawing.positions[item][0]
    edge, k = item
    return drawing.routes[edge][k][0]


def _span(drawing: Drawing) -> tuple[float, float]:
    """The least and greatest x of the drawing's nodes and edge points."""
    xs = [x for route in drawing.routes.values() for x, _ in route]
    xs += [x for x, _ in drawing.positions.values()]
    return min(xs), max(xs)


def _half(item: Item, boxes: dict[str, tuple[float, float]]) -> float:
    """Half the room `item` takes across its layer."""
    return boxes[item][0] / 2 if isinstance(item, str) else EDGE_ROOM / 2


def _gap(a: Item, b: Item, wide: float, fold: int) -> float:
    """The least distance between neighbours `a` and `b` of a layer whose widest box is `wide`,
    folded `fold` times: boxes k places apart share a sub-row, so k gaps make room for one."""
    real = isinstance(a, str) + isinstance(b, str)
    if real == 2:
        return (wide + BOX_GAP) / fold
    if real == 1:
        return max(EDGE_ROOM, (wide / 2 + BOX_GAP) / fold)
    return EDGE_ROOM


def _widest(row: list[Item], boxes: dict[str, tuple[float, float]]) -> float:
    """The widest box of a layer."""
    return max((boxes[v][0] for v in row if isinstance(v, str)), default=0.0)


def _length(row: list[Item], boxes: dict[str, tuple[float, float]], fold: int) -> float:
    """How wide the row is at its narrowest, folded `fold` times: the widest span from the
    left edge of one box to the right edge of a later one."""
    wide = _widest(row, boxes)
    gaps = [_gap(a, b, wide, fold) for a, b in pairwise(row)]
    best, left = 0.0, -math.inf
    for item, at in zip(row, accumulate(gaps, initial=0.0)):
        left = max(left, _half(item, boxes) - at)
        best = max(best, left + at + _half(item, boxes))
    return best


def _within(
    wanted: list[float], gaps: list[float], halves: list[float], width: float
) -> list[float]:
    """Positions near `wanted`, in order, at least `gaps` apart, each item's half width
    `halves` inside [0, width] (squeezed evenly when they cannot all fit)."""
    out: list[float] = []
    for i, (w, half) in enumerate(zip(wanted, halves)):
        out.append(max(w, half, out[-1] + gaps[i - 1] if out else half))
    out[-1] = min(out[-1], width - halves[-1])
    for i in range(len(out) - 2, -1, -1):
        out[i] = min(out[i], width - halves[i], out[i + 1] - gaps[i])
    if any(x < half - 1e-9 for x, half in zip(out, halves)):  # too long: spread evenly
        total = sum(gaps) or 1.0
        low, high = halves[0], width - halves[-1]
        out = [low + (high - low) * s / total for s in accumulate(gaps, initial=0.0)]
    return out


def _heights(
    rows: list[list[Item]], boxes: dict[str, tuple[float, float]], folds: list[int]
) -> tuple[dict[tuple[int, int], float], float]:
    """{(layer, sub-row): y of its centre} from the top down, and the page's height."""
    y: dict[tuple[int, int], float] = {}
    top = 0.0
    for i, (row, fold) in enumerate(zip(rows, folds)):
        tall = max((boxes[v][1] for v in row if isinstance(v, str)), default=0.0)
        for r in range(fold):
            y[i, r] = top - tall / 2 - r * (tall + ROW_GAP)
        y[i, -1] = top - (fold * tall + (fold - 1) * ROW_GAP) / 2  # where edges pass
        top -= fold * tall + (fold - 1) * ROW_GAP + LAYER_GAP
    height = -(top + LAYER_GAP)
    return {key: value + height for key, value in y.items()}, height


def _placed(
    drawing: Drawing,
    rows: list[list[Item]],
    x: dict[Item, float],
    y: dict[tuple[int, int], float],
) -> Drawing:
    """The drawing at the new positions: a layer's nodes take turns over its sub-rows."""
    folds = {i: max(r for (j, r) in y if j == i) + 1 for i in range(len(rows))}
    at: dict[Item, Point] = {}
    for i, row in enumerate(rows):
        nodes = [v for v in row if isinstance(v, str)]
        for j, v in enumerate(nodes):
            at[v] = (x[v], y[i, j % folds[i]])
        for item in row:
            if not isinstance(item, str):
                at[item] = (x[item], y[i, -1])
    routes = {
        edge: (at[edge[0]], *(at[edge, k] for k in range(1, len(route) - 1)), at[edge[1]])
        for edge, route in drawing.routes.items()
    }
    positions = {v: at[v] for v in drawing.positions}
    return Drawing(positions, routes, drawing.layers, drawing.crossings)
