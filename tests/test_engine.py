"""The junction-tree engine against brute force, pgmpy, itself (batched, chunked) and underflow."""

from __future__ import annotations

import dataclasses
import functools
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncdx.inference import _batchpass as batchpass
from syncdx.inference import _compile as compiling
from syncdx.inference import _engine as engine
from syncdx.inference import _rowpass as _rowpass
from syncdx.inference._compile import compile_network
from syncdx.network._bif import bundled_network, read_network_file, to_pgmpy
from syncdx.network._network import FloatArray, Network, Variable
from tests.oracle import check_result, posterior_marginals
from tests.strategies import hard_evidence, networks


def _one_hot(network: Network, evidence: dict[int, int]) -> dict[int, FloatArray]:
    return {v: np.eye(network.cards[v])[s] for v, s in evidence.items()}


def _check_against_oracle(network: Network, likelihoods: dict[int, FloatArray]) -> None:
    """Run one row through the engine and compare with brute-force enumeration."""
    row = {v: lik[None] for v, lik in likelihoods.items()}
    check_result(network, compile_network(network).run(row), row)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_hard_evidence_matches_brute_force(data: st.DataObject) -> None:
    """Marginals and P(e) equal enumeration for hard findings on random networks (2-12 nodes)."""
    network = data.draw(networks(max_nodes=12))
    assume(math.prod(network.cards) <= 1 << 20)  # keeps the brute-force joint small
    _check_against_oracle(network, _one_hot(network, data.draw(hard_evidence(network))))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_tables_with_zeros_match_brute_force(data: st.DataObject) -> None:
    """With exact zeros in the tables, impossible rows give -inf and NaN, the rest match."""
    network = data.draw(networks(max_nodes=12, zeros=True))
    assume(math.prod(network.cards) <= 1 << 20)  # keeps the brute-force joint small
    _check_against_oracle(network, _one_hot(network, data.draw(hard_evidence(network))))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_soft_evidence_matches_brute_force(data: st.DataObject) -> None:
    """Likelihood (soft) evidence vectors give the same answers as enumeration."""
    network = data.draw(networks(max_nodes=8))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    chosen = data.draw(st.sets(st.integers(0, len(network) - 1)))
    _check_against_oracle(network, {v: rng.random(network.cards[v]) for v in sorted(chosen)})


def _random_batch(
    network: Network, rng: np.random.Generator, rows: int, observed: int
) -> dict[int, FloatArray]:
    """Hard findings on `observed` variables, mixed with all-ones rows (no finding)."""
    chosen = rng.choice(len(network), size=min(observed, len(network)), replace=False)
    batch = {}
    for v in sorted(int(c) for c in chosen):
        lik = np.eye(network.cards[v])[rng.integers(network.cards[v], size=rows)]
        lik[rng.random(rows) < 0.3] = 1.0
        batch[v] = lik
    return batch


def _assert_same(a: engine.Result, b: engine.Result) -> None:
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-12, atol=1e-12)
    assert a.marginals.keys() == b.marginals.keys()
    for var in a.marginals:
        np.testing.assert_allclose(a.marginals[var], b.marginals[var], rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_batch_equals_row_by_row(network: Network, seed: int) -> None:
    """A batched run gives each row what a run on that row alone gives."""
    tree = compile_network(network)
    batch = _random_batch(network, np.random.default_rng(seed), rows=7, observed=3)
    together = tree.run(batch)
    for row in range(7):
        alone = tree.run({v: lik[row : row + 1] for v, lik in batch.items()})
        np.testing.assert_allclose(
            together.log_evidence[row], alone.log_evidence[0], rtol=1e-12, atol=1e-12
        )
        for var in range(len(network)):
            np.testing.assert_allclose(
                together.marginals[var][row], alone.marginals[var][0], rtol=0, atol=1e-12
            )


def test_chunked_batch_equals_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch cut into many chunks gives the same result as one chunk."""
    network = read_network_file(bundled_network("alarm"))
    tree = compile_network(network)
    batch = _random_batch(network, np.random.default_rng(3), rows=500, observed=5)
    whole = tree.run(batch)
    monkeypatch.setattr(batchpass, "_CHUNK_ENTRIES", 7 * tree.width)
    _assert_same(tree.run(batch), whole)


def test_a_small_batch_through_a_wide_clique_is_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of fewer rows than a large one is still cut into chunks when one clique's
    batched table would pass the chunk limit: memory stays near one chunk's, and the result
    is the unchunked one."""
    rng = np.random.default_rng(5)
    states = tuple(f"s{k}" for k in range(4))
    variables = tuple(Variable(f"v{i}", states, "observation", cost=1.0) for i in range(6))
    parents = ((), (), (), (), (), (0, 1, 2, 3, 4))  # one clique of 4**6 = 4,096 states
    cpts = tuple(rng.dirichlet(np.ones(4), size=[4] * len(ps) or None) for ps in parents)
    network = Network(variables, parents, cpts, name="wide")
    tree = compile_network(network)
    batch = _random_batch(network, rng, rows=100, observed=3)
    whole = tree.run(batch, targets=(0,))
    monkeypatch.setattr(batchpass, "_CHUNK_ENTRIES", 2 * tree.width)
    monkeypatch.setattr(batchpass, "_CHUNK_MOST", 2 * tree.width)
    tracemalloc.start()
    try:
        chunked = tree.run(batch, targets=(0,))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _assert_same(chunked, whole)
    assert peak < 30 * tree.width * 8  # a few chunks' cliques, not 100 rows x the clique


def test_targets_subset_and_none() -> None:
    """Only the requested targets come back; targets=() still gives log P(e)."""
    network = read_network_file(bundled_network("asia"))
    tree = compile_network(network)
    batch = _random_batch(network, np.random.default_rng(1), rows=5, observed=2)
    full = tree.run(batch)
    some = tree.run(batch, targets=[0, 3])
    nothing = tree.run(batch, targets=())
    assert set(some.marginals) == {0, 3}
    assert nothing.marginals == {}
    np.testing.assert_allclose(some.log_evidence, full.log_evidence, rtol=1e-12)
    np.testing.assert_allclose(nothing.log_evidence, full.log_evidence, rtol=1e-12)
    np.testing.assert_allclose(some.marginals[3], full.marginals[3], atol=1e-12)


def test_no_evidence_gives_prior_marginals() -> None:
    """With no likelihoods at all, one row of prior marginals and log P(e) = 0."""
    network = read_network_file(bundled_network("asia"))
    _, expected = posterior_marginals(network, {})
    result = compile_network(network).run({})
    assert result.log_evidence.shape == (1,)
    assert result.log_evidence[0] == pytest.approx(0.0, abs=1e-12)
    for var in range(len(network)):
        np.testing.assert_allclose(result.marginals[var][0], expected[var], atol=1e-12)


# -- pgmpy's bundled networks ---------------------------------------------------------------
@functools.cache
@pytest.mark.parametrize(
    ("name", "queries"),
    [("asia", 6), ("alarm", 3), ("child", 3), ("insurance", 3), ("win95pts", 2)],
)
def test_matches_pgmpy_variable_elimination(name: str, queries: int) -> None:
    """Posteriors of every unobserved variable equal pgmpy's VariableElimination."""
    from pgmpy.inference import VariableElimination

    network = read_network_file(bundled_network(name))
    tree = compile_network(network)
    inference = VariableElimination(to_pgmpy(network))
    rng = np.random.default_rng(11)
    done = 0
    while done < queries:
        evidence = {
            int(v): int(rng.integers(network.cards[v]))
            for v in rng.choice(len(network), size=int(rng.integers(1, 5)), replace=False)
        }
        result = tree.run({v: lik[None] for v, lik in _one_hot(network, evidence).items()})
        if not result.possible[0]:
            continue
        done += 1
        names = {
            network.variables[v].id: network.variables[v].states[s] for v, s in evidence.items()
        }
        free = [v for v in range(len(network)) if v not in evidence]
        for var in free[:: max(1, len(free) // 12)]:
            factor = inference.query(
                [network.variables[var].id], evidence=names, show_progress=False
            )
            states = network.variables[var].states
            expected = [factor.get_value(**{network.variables[var].id: s}) for s in states]
            np.testing.assert_allclose(result.marginals[var][0], expected, rtol=0, atol=1e-9)


# -- numerical stability --------------------------------------------------------------------
def test_many_observed_leaves_do_not_underflow() -> None:
    """200 unlikely observed leaves (P(e) < 1e-300): log P(e) and the posterior are exact."""
    rng = np.random.default_rng(0)
    leaves = 200
    variables = [Variable("root", ("absent", "present"), "cause")]
    variables += [Variable(f"y{i}", ("a", "b", "c")) for i in range(leaves)]
    cpts = [np.array([0.3, 0.7])]
    for _ in range(leaves):
        rare = rng.uniform(0.001, 0.02, size=2)
        cpts.append(np.stack([rare, (1 - rare) / 3, 2 * (1 - rare) / 3], axis=1))
    network = Network(tuple(variables), ((),) + ((0,),) * leaves, tuple(cpts))
    likelihoods = {i + 1: np.array([[1.0, 0.0, 0.0]]) for i in range(leaves)}
    result = compile_network(network).run(likelihoods, targets=[0])
    joint = np.log(cpts[0]) + sum(np.log(cpt[:, 0]) for cpt in cpts[1:])
    log_p_e = np.logaddexp.reduce(joint)
    assert log_p_e < math.log(1e-300)
    assert math.isclose(result.log_evidence[0], log_p_e, rel_tol=1e-12)
    np.testing.assert_allclose(result.marginals[0][0], np.exp(joint - log_p_e), atol=1e-12)


def test_long_chain_does_not_underflow() -> None:
    """A 300-step hidden Markov chain, every step observed, matches a log-space forward pass."""
    rng = np.random.default_rng(1)
    steps = 300
    emission = np.array([[0.99, 0.01], [0.98, 0.02], [0.95, 0.05]])
    variables, parents, cpts = [], [], []
    for t in range(steps):
        variables.append(Variable(f"x{t}", ("a", "b", "c"), "hidden"))
        parents.append((2 * (t - 1),) if t else ())
        cpts.append(rng.dirichlet(np.ones(3), size=3 if t else None))
        variables.append(Variable(f"y{t}", ("u", "v")))
        parents.append((2 * t,))
        cpts.append(emission)
    network = Network(tuple(variables), tuple(parents), tuple(cpts))
    likelihoods = {2 * t + 1: np.array([[0.0, 1.0]]) for t in range(steps)}
    result = compile_network(network).run(likelihoods, targets=[0, 2 * steps - 2])
    alpha = np.log(cpts[0]) + np.log(emission[:, 1])
    for t in range(1, steps):
        alpha = np.logaddexp.reduce(alpha[:, None] + np.log(cpts[2 * t]), axis=0)
        alpha = alpha + np.log(emission[:, 1])
    log_p_e = np.logaddexp.reduce(alpha)
    assert log_p_e < math.log(1e-300)
    assert math.isclose(result.log_evidence[0], log_p_e, rel_tol=1e-12)
    last = result.marginals[2 * steps - 2][0]
    np.testing.assert_allclose(last, np.exp(alpha - log_p_e), atol=1e-12)


# -- single-row runs: memoised messages --------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_single_rows_new_and_seen_equal_brute_force(network: Network, seed: int) -> None:
    """Single rows through one tree (first sight, then memo hits, then interleaved with other
    patterns) equal enumeration and the batched plan path."""
    tree = compile_network(network)
    rng = np.random.default_rng(seed)
    rows = [_random_batch(network, rng, rows=1, observed=int(rng.integers(0, 4))) for _ in range(6)]
    for _ in range(2):
        for likelihoods in rows:
            _check_row(network, tree, likelihoods)
    batch = {v: np.repeat(lik, 2, axis=0) for v, lik in rows[0].items()}
    if batch:
        _assert_same(tree.run(batch), _twice(tree.run(rows[0])))


def test_single_rows_through_large_separators_equal_batches() -> None:
    """Single rows whose messages cross large separators (summed over table axes rather than
    by a dense matrix) equal the batched plan path, soft evidence included."""
    network = read_network_file(bundled_network("insurance"))
    tree = compile_network(network)
    rng = np.random.default_rng(4)
    for _ in range(12):
        likelihoods = _random_batch(network, rng, rows=1, observed=6)
        for v in rng.choice(len(network), size=2, replace=False).tolist():
            likelihoods[v] = rng.random((1, network.cards[v]))
        batch = {v: np.repeat(lik, 2, axis=0) for v, lik in likelihoods.items()}
        _assert_same(tree.run(batch), _twice(tree.run(likelihoods)))
    assert any(link.kernel is not None and link.kernel.axes for link in tree._rows._links)


def _twice(result: engine.Result) -> engine.Result:
    return engine.Result(
        np.repeat(result.log_evidence, 2),
        {v: np.repeat(m, 2, axis=0) for v, m in result.marginals.items()},
    )


def _check_row(
    network: Network, tree: engine.JunctionTree, likelihoods: dict[int, FloatArray]
) -> None:
    with np.errstate(invalid="ignore"):
        p_e, expected = posterior_marginals(network, {v: lik[0] for v, lik in likelihoods.items()})
    result = tree.run(likelihoods)
    if p_e == 0.0:
        assert result.log_evidence[0] == -np.inf
        assert all(np.isnan(m).all() for m in result.marginals.values())
        return
    assert math.isclose(math.exp(result.log_evidence[0]), p_e, rel_tol=1e-9)
    for var in range(len(network)):
        np.testing.assert_allclose(result.marginals[var][0], expected[var], rtol=0, atol=1e-9)


def test_single_row_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The message memo and the likelihood tokens are emptied when full; answers stay exact."""
    monkeypatch.setattr(_rowpass, "_CACHE", 50)
    monkeypatch.setattr(_rowpass, "_TOKEN_BITS", 3)  # at most 7 distinct vectors between resets
    network = read_network_file(bundled_network("asia"))
    tree = compile_network(network)
    rng = np.random.default_rng(5)
    for _ in range(40):
        chosen = rng.choice(len(network), size=int(rng.integers(1, 5)), replace=False)
        soft = {int(v): rng.random((1, network.cards[v])) for v in sorted(chosen)}
        _check_row(network, tree, soft)
        assert sum(len(link.memo) for link in tree._rows._links) <= 50 + 2 * len(tree.side)
        assert len(tree._rows._tokens) < 1 << 3


def test_a_single_row_down_a_long_chain_matches_its_batch() -> None:
    """A single row whose messages nest 3,000 cliques deep (past Python's recursion limit)
    gives the batched answer, and a second finding on the memoised chain does too."""
    n = 3_000
    variables = tuple(Variable(f"x{i}", ("a", "b"), "observation") for i in range(n))
    step = np.array([[0.9, 0.1], [0.2, 0.8]])
    network = Network(
        variables, ((), *((i,) for i in range(n - 1))), (np.array([0.3, 0.7]),) + (step,) * (n - 1)
    )
    tree = compile_network(network)
    for evidence in ({n - 1: 1}, {n - 1: 1, n // 2: 0}):
        likelihoods = _one_hot(network, evidence)
        single = tree.run({v: lik[None] for v, lik in likelihoods.items()}, targets=(0, n // 3))
        both = {v: np.stack([lik, lik]) for v, lik in likelihoods.items()}
        batch = tree.run(both, targets=(0, n // 3))
        np.testing.assert_allclose(single.log_evidence, batch.log_evidence[:1], rtol=1e-12)
        for v in (0, n // 3):
            np.testing.assert_allclose(single.marginals[v], batch.marginals[v][:1], rtol=1e-12)


def test_a_single_row_through_a_large_clique_matches_enumeration() -> None:
    """A clique of 8^5 entries (read by broadcasting, its five marginals by halving sums)
    gives the enumerated answer on a single row, with the walk's memo reused by a second."""
    rng = np.random.default_rng(5)
    cards = (8, 8, 8, 8, 8, 3, 4)
    parents: tuple[tuple[int, ...], ...] = ((), (), (), (0,), (0, 1, 2, 3), (4,), (1, 4))
    cpts = tuple(
        rng.dirichlet(np.ones(c), size=tuple(cards[p] for p in ps)) for c, ps in zip(cards, parents)
    )
    variables = tuple(
        Variable(f"v{i}", tuple(f"s{k}" for k in range(c)), "observation")
        for i, c in enumerate(cards)
    )
    network = Network(variables, parents, cpts)
    tree = compile_network(network)
    assert max(math.prod(cards[v] for v in c) for c in tree.cliques) >= 8**5
    for evidence in ({5: 2}, {5: 2, 6: 1}, {6: 3, 0: 4}):
        likelihoods = _one_hot(network, evidence)
        likelihoods[2] = rng.random(8)  # soft evidence too
        p_e, expected = posterior_marginals(network, likelihoods)
        result = tree.run({v: lik[None] for v, lik in likelihoods.items()})
        assert math.exp(result.log_evidence[0]) == pytest.approx(p_e, rel=1e-9)
        for v in range(len(network)):
            np.testing.assert_allclose(result.marginals[v][0], expected[v], rtol=0, atol=1e-12)


def test_a_single_row_leaves_targets_unrelated_to_the_evidence_at_their_priors() -> None:
    """Causes that are no ancestor of the findings keep their priors on a single row (the walk
    skips them), the others match the batched answer, and impossible findings make all NaN."""
    cause = ("absent", "present")
    variables = (
        *(Variable(f"c{i}", cause, "cause", normal="absent") for i in range(3)),
        Variable("o0", ("no", "yes"), "observation"),
        Variable("o1", ("no", "yes"), "observation"),
    )
    leak = np.array([[1.0, 0.0], [0.3, 0.7]])
    priors = (np.array([0.9, 0.1]), np.array([0.8, 0.2]), np.array([0.6, 0.4]))
    network = Network(
        variables, ((), (), (), (0,), (1, 2)), (*priors, leak, np.full((2, 2, 2), 0.5))
    )
    tree = compile_network(network)
    targets = (0, 1, 2)
    single = tree.run({3: np.array([[0.0, 1.0]])}, targets)
    batch = tree.run({3: np.array([[0.0, 1.0], [1.0, 1.0]])}, targets)
    for v in targets:
        np.testing.assert_allclose(single.marginals[v][0], batch.marginals[v][0], atol=1e-15)
    np.testing.assert_array_equal(single.marginals[1][0], tree.prior_marginals[1])
    assert single.marginals[0][0][1] == pytest.approx(1.0)
    impossible = tree.run({0: np.array([[1.0, 0.0]]), 3: np.array([[0.0, 1.0]])}, targets)
    assert impossible.log_evidence[0] == -np.inf
    assert all(np.isnan(impossible.marginals[v]).all() for v in targets)


def test_networks_of_one_structure_share_a_shape_and_keep_their_own_numbers() -> None:
    """A second network with asia's structure and other tables reuses the compiled shape
    (as a fit's EM iterations do) and still answers with its own tables."""
    network = read_network_file(bundled_network("asia"))
    rng = np.random.default_rng(0)
    other = dataclasses.replace(
        network,
        cpts=tuple(rng.dirichlet(np.ones(t.shape[-1]), size=t.shape[:-1]) for t in network.cpts),
    )
    compile_network(network)
    hits = compiling._shape.cache_info().hits
    assert compile_network(other).cliques == compile_network(network).cliques
    assert compiling._shape.cache_info().hits >= hits + 2
    _check_against_oracle(other, {7: np.array([0.0, 1.0])})
    _check_against_oracle(network, {7: np.array([0.0, 1.0])})
