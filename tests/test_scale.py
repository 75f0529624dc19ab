"""Compilation scales: triangulation near-linear in nodes, memory linear in a node's states."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx import Model
from syncdx.inference import _triangulate as _triangulate
from syncdx.inference._compile import compile_network
from syncdx.network._network import CAUSE_STATES, Network, Variable
from tests.oracle import posterior_marginals
from tests.strategies import networks


def _quadratic_min_fill(
    adjacency: list[set[int]], cards: Sequence[int]
) -> tuple[list[int], list[frozenset[int]]]:
    """The elimination before the heap: every cost recomputed for every node at every step."""
    graph = [set(nbrs) for nbrs in adjacency]
    alive, order, cliques = set(range(len(graph))), [], []

    def cost(v: int) -> tuple[int, int]:
        nbrs = list(graph[v])
        fill = sum(1 for i, a in enumerate(nbrs) for b in nbrs[i + 1 :] if b not in graph[a])
        return fill, math.prod(cards[u] for u in (v, *nbrs))

    while alive:
        v = min(sorted(alive), key=cost)
        for a in graph[v]:
            graph[a].update(graph[v] - {a})
            graph[a].discard(v)
        order.append(v)
        cliques.append(frozenset({v, *graph[v]}))
        alive.remove(v)
    return order, cliques


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=25, max_parents=4))
def test_heap_elimination_equals_the_full_rescan(network: Network) -> None:
    """The heap-driven min-fill picks the same order and cliques as rescanning every node."""
    families = [(*ps, i) for i, ps in enumerate(network.parents)]
    moral = _triangulate._moral_graph(len(network), families)
    assert _triangulate._eliminate(moral, network.cards) == _quadratic_min_fill(
        moral, network.cards
    )


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=30, max_parents=2), st.sampled_from([0, 16, 128]))
def test_junction_tree_is_a_tree_with_running_intersection(network: Network, merge: int) -> None:
    """Cliques cover every family, the neighbours form one tree (forests joined), and each
    variable's cliques are connected."""
    cliques, nbrs = _triangulate.junction_tree(network.cards, network.parents, merge)
    assert sum(len(n) for n in nbrs) == 2 * (len(cliques) - 1)
    assert len(_triangulate.towards(nbrs, 0)) == len(cliques) - 1
    for i, ps in enumerate(network.parents):
        assert any({*ps, i} <= set(c) for c in cliques)
    for v in range(len(network)):
        holding = {c for c, clique in enumerate(cliques) if v in clique}
        seen, stack = set(), [min(holding)]
        while stack:
            c = stack.pop()
            seen.add(c)
            stack += [n for n in nbrs[c] if n in holding and n not in seen]
        assert seen == holding


def _chain_forest(n: int) -> Network:
    """n nodes in short chains of 5 (a forest), binary."""
    variables, parents, cpts = [], [], []
    for i in range(n):
        ps = (i - 1,) if i % 5 else ()
        variables.append(Variable(f"v{i}", ("absent", "present") if not ps else ("yes", "no")))
        parents.append(ps)
        cpts.append(np.array([[0.7, 0.3], [0.2, 0.8]]) if ps else np.array([0.9, 0.1]))
    return Network(tuple(variables), tuple(parents), tuple(cpts))


def _ladder(n: int) -> Network:
    """n binary nodes, each the child of the one before and of the one 3 before: a long band
    of cycles that every elimination must fill in."""
    variables, parents, cpts = [], [], []
    for i in range(n):
        ps = tuple(p for p in (i - 3, i - 1) if p >= 0)
        variables.append(Variable(f"v{i}", ("yes", "no")))
        parents.append(ps)
        cpts.append(np.full((2,) * (len(ps) + 1), 0.5))
    return Network(tuple(variables), tuple(parents), tuple(cpts))


def _counted_costs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at each elimination cost evaluated from now on."""
    calls: list[int] = []
    cost = _triangulate._cost

    def counted_cost(
        graph: Sequence[set[int]], cards: Sequence[int], v: int, weighted: bool = True
    ) -> tuple[int, int, int]:
        calls.append(1)
        return cost(graph, cards, v, weighted)

    monkeypatch.setattr(_triangulate, "_cost", counted_cost)
    return calls


@pytest.mark.parametrize("n", [500, 2000])
def test_elimination_recomputes_costs_locally(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eliminating a node recomputes only nearby costs: O(n) cost evaluations, not O(n^2)
    (a forest needs one try: min-fill adds no edge), and the forest's trees are joined with no
    clique gaining more than 3 neighbours."""
    calls = _counted_costs(monkeypatch)
    network = _chain_forest(n)
    _, nbrs = _triangulate.junction_tree(network.cards, network.parents, 0)
    assert len(calls) <= 4 * n
    assert max(len(x) for x in nbrs) <= 5


@pytest.mark.parametrize("n", [500, 20_000])
def test_the_elimination_tries_stay_linear(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A network that needs fill-in gets several elimination tries, each with O(n) cost
    evaluations; the tries' work is capped, so 20,000 nodes get fewer of them (no O(n^2))."""
    calls = _counted_costs(monkeypatch)
    network = _ladder(n)
    cliques, _ = _triangulate.junction_tree(network.cards, network.parents, 0)
    assert max(len(c) for c in cliques) == 4
    tries = 1 + min(2 + _triangulate._TRIES, _triangulate._WORK // (16 * n))
    assert len(calls) <= 6 * n * tries


def _many_states(states: int) -> Network:
    """cause -> o (many states) -> p: o's tables and every clique linear in its states."""
    rng = np.random.default_rng(states)
    variables = (
        Variable("c", CAUSE_STATES, "cause"),
        Variable("o", tuple(f"s{i}" for i in range(states)), cost=1.0),
        Variable("p", ("yes", "no"), cost=1.0),
    )
    cpts = (
        np.array([0.9, 0.1]),
        rng.dirichlet(np.ones(states), size=2),
        rng.dirichlet(np.ones(2), size=states),
    )
    return Network(variables, ((), (0,), (1,)), cpts)


@pytest.mark.parametrize("rows", [1, 3])
def test_memory_is_linear_in_a_nodes_states(rows: int) -> None:
    """Compiling and querying a 3,000-state node (evidence on it, all marginals) stays far
    below states^2 doubles (72 MB): no identity or dense matrix of states x states."""
    network = _many_states(3000)
    tracemalloc.start()
    try:
        tree = compile_network(network)
        hard = np.zeros((rows, 3000))
        hard[:, 7] = 1.0
        tree.run({1: hard})
        tree.run({1: hard, 2: np.tile([1.0, 0.0], (rows, 1))}, targets=(0, 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


@settings(max_examples=20, deadline=None)
@given(st.integers(200, 1500), st.integers(0, 2**32 - 1), st.sampled_from([1, 2]))
def test_many_states_match_brute_force(states: int, seed: int, rows: int) -> None:
    """With hundreds of states (the einsum and summed kernels), marginals and P(e) are exact."""
    network = _many_states(states)
    rng = np.random.default_rng(seed)
    likelihoods = {1: rng.random(states), 2: rng.random(2)}
    p_e, expected = posterior_marginals(network, likelihoods)
    batch = {v: np.tile(x, (rows, 1)) for v, x in likelihoods.items()}
    result = compile_network(network).run(batch)
    np.testing.assert_allclose(np.exp(result.log_evidence), p_e, rtol=1e-9)
    for v in range(3):
        np.testing.assert_allclose(result.marginals[v], np.tile(expected[v], (rows, 1)), atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=30, max_parents=2), st.integers(0, 2**32 - 1))
def test_inward_sums_are_the_correctly_rounded_sums(network: Network, seed: int) -> None:
    """Each clique's sum over the edges towards it (moved edge by edge) equals math.fsum of
    those edges, to the last bit: a blank row's log P(e) stays exactly 0."""
    _, nbrs = _triangulate.junction_tree(network.cards, network.parents, 0)
    rng = np.random.default_rng(seed)
    weight = {
        (a, b): float(rng.normal() * 10.0 ** rng.integers(-8, 8))
        for a in range(len(nbrs))
        for b in nbrs[a]
    }
    sums = _triangulate.inward_sums(nbrs, weight)
    for c in range(len(nbrs)):
        assert sums[c] == math.fsum(weight[e] for e in _triangulate.towards(nbrs, c))


def test_a_model_over_a_node_with_many_states_is_linear_in_them() -> None:
    """Through the public API (Model, posterior, explain) a 3,000-state answer allocates no
    states x states matrix (72 MB): one-hot rows are built per answered state."""
    network = _many_states(3000)
    Model(_many_states(3)).explain({"o": "s1"}, "c")  # modules (pandas) load before tracing
    tracemalloc.start()
    try:
        model = Model(network)
        model.posterior({"o": "s7", "p": "yes"})
        model.explain({"o": "s7", "p": "yes"}, "c")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
