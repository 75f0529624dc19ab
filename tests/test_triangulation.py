"""The elimination heuristic: junction trees within a recorded size on classic networks."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings

from syncdx.inference import _triangulate
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import Network
from tests.strategies import networks

#: Entries of the junction tree's cliques (before small cliques are merged) and of its largest
#: clique, recorded when the heuristic was written, then the entries of pyAgrum 2's
#: LazyPropagation junction tree on the same network (munin1: plain min-fill made a clique of
#: 274M entries, over the default clique limit).
BUDGET = {
    "alarm": (1_020, 144, 1_065),
    "insurance": (23_880, 4_800, 46_872),
    "hailfinder": (9_406, 3_267, 9_775),
    "andes": (264_798, 131_072, 339_614),
    "water": (3_362_268, 746_496, 8_035_356),
    "munin1": (135_512_526, 44_800_000, 195_218_381),
}


def _entries(network: Network) -> tuple[int, int]:
    """Total and largest table entries of the network's junction tree, unmerged."""
    cliques, _ = _triangulate.junction_tree(network.cards, network.parents, 0)
    sizes = [math.prod(network.cards[v] for v in c) for c in cliques]
    return sum(sizes), max(sizes)


@pytest.mark.parametrize("name", sorted(BUDGET))
def test_junction_trees_stay_within_the_recorded_budget(name: str) -> None:
    """On classic networks the junction tree holds no more entries than recorded (itself no
    more than pyAgrum's) and a largest clique no larger than recorded, the same at every
    compile."""
    network = read_network_file(bundled_network(name))
    ours, widest, agrum = BUDGET[name]
    total, largest = _entries(network)
    assert total <= ours <= agrum
    assert largest <= widest
    assert _entries(network) == (total, largest)


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=12, max_parents=3))
def test_merging_small_cliques_never_grows_the_tree(network: Network) -> None:
    """The compiled tree (small neighbouring cliques merged for speed) holds no more entries
    than the junction tree before merging."""
    merged, _ = _triangulate.junction_tree(network.cards, network.parents, 128)
    total, _ = _entries(network)
    assert sum(math.prod(network.cards[v] for v in c) for c in merged) <= total


def _maximal_entries(order: list[int], cliques: list[frozenset[int]], cards: list[int]) -> int:
    alive, _ = _triangulate._clique_tree(order, cliques)
    return sum(_triangulate._size(c, cards) for c in alive if c is not None)


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=25, max_parents=4))
def test_the_linear_size_test_counts_the_maximal_cliques(network: Network) -> None:
    """The entries counted per try (maximal cliques found by their child's size) equal those of
    the clique tree built by absorbing every clique into a neighbour that contains it."""
    families = [(*ps, i) for i, ps in enumerate(network.parents)]
    moral = _triangulate._moral_graph(len(network), families)
    cards = list(network.cards)
    for seed, key in ((-1, lambda f, w, s: (f, s)), (3, lambda f, w, s: (w, s))):
        order, cliques = _triangulate._eliminate(moral, cards, key, seed, seed > 0)
        assert _triangulate._entries(order, cliques, cards) == _maximal_entries(
            order, cliques, cards
        )


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=25, max_parents=4))
def test_the_chosen_order_is_never_worse_than_min_fill(network: Network) -> None:
    """The order kept after all tries has no more entries than the plain min-fill order."""
    families = [(*ps, i) for i, ps in enumerate(network.parents)]
    moral = _triangulate._moral_graph(len(network), families)
    cards = list(network.cards)
    chosen = _triangulate._elimination(moral, cards)
    assert _triangulate._entries(*chosen, cards) <= _triangulate._entries(
        *_triangulate._eliminate(moral, cards), cards
    )


def test_the_extra_tries_stop_at_the_work_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no work budget left, only the min-fill try runs; with budget, all of them."""
    network = read_network_file(bundled_network("alarm"))
    families = [(*ps, i) for i, ps in enumerate(network.parents)]
    moral = _triangulate._moral_graph(len(network), families)
    calls: list[int] = []
    eliminate = _triangulate._eliminate

    def counted(*args: Any) -> tuple[list[int], list[frozenset[int]]]:
        calls.append(1)
        return eliminate(*args)

    monkeypatch.setattr(_triangulate, "_eliminate", counted)
    _triangulate._elimination(moral, network.cards)
    assert len(calls) == 1 + 2 + _triangulate._TRIES
    calls.clear()
    monkeypatch.setattr(_triangulate, "_WORK", 1)
    _triangulate._elimination(moral, network.cards)
    assert len(calls) == 1


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=20, max_parents=4))
def test_the_fill_in_cost_matches_the_pairs_it_joins(network: Network) -> None:
    """A node's cost counts the pairs of its neighbours not yet joined, weighs each by the
    product of its ends' states (only when asked), and gives its clique's entries."""
    families = [(*ps, i) for i, ps in enumerate(network.parents)]
    moral = _triangulate._moral_graph(len(network), families)
    cards = network.cards
    for v in range(len(network)):
        nbrs = sorted(moral[v])
        pairs = [(a, b) for i, a in enumerate(nbrs) for b in nbrs[i + 1 :] if b not in moral[a]]
        weight = sum(cards[a] * cards[b] for a, b in pairs)
        size = math.prod(cards[u] for u in (v, *nbrs))
        assert _triangulate._cost(moral, cards, v) == (len(pairs), weight, size)
        assert _triangulate._cost(moral, cards, v, False) == (len(pairs), 0, size)
