"""Inference at the edge of double precision: tables and evidence whose products underflow.

A clique's products are not rescaled inside it, so rows where they leave a double's range are
redone in extended precision (see `_engine`); these tests hold the engine to a log-space
enumeration there, on both the single-row and the batched path.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncdx._model import Model
from syncdx.errors import ImpossibleEvidenceError
from syncdx.inference import _compile as compiling
from syncdx.inference._compile import compile_network
from syncdx.network._network import FloatArray, Network, Variable
from tests.oracle import log_posterior_marginals
from tests.strategies import hard_evidence, networks

pytestmark = pytest.mark.skipif(not compiling._EXTENDED, reason="longdouble is a double here")

CAUSE = Variable("c", ("absent", "present"), "cause", normal="absent")
LEAVES = tuple(Variable(f"o{i}", ("no", "yes"), "observation") for i in range(2))
BOTH_YES = {"o0": "yes", "o1": "yes"}


def naive_bayes(p_yes: tuple[float, float]) -> Model:
    """A cause with two symptoms, each 'yes' with probability p_yes[cause state]."""
    table = np.array([[1 - p_yes[0], p_yes[0]], [1 - p_yes[1], p_yes[1]]])
    return Model(Network((CAUSE, *LEAVES), ((), (0,), (0,)), (np.array([0.5, 0.5]), table, table)))


@pytest.mark.parametrize("tiny", [1e-160, 1e-200, 1e-300])
def test_unlikely_symptoms_together_are_exact_not_impossible(tiny: float) -> None:
    """P(both symptoms) = 0.5 tiny^2 (1 + 9) leaves a double's range; the posterior is 0.9."""
    model = naive_bayes((tiny, 3 * tiny))
    expected = math.log(0.5) + 2 * math.log(tiny) + math.log(10)
    assert model.posterior(BOTH_YES)["c"] == pytest.approx(0.9, abs=1e-12)
    assert model.log_probability_of_evidence(BOTH_YES) == pytest.approx(expected, abs=1e-9)
    frame = pd.DataFrame([BOTH_YES, BOTH_YES, {"o0": "yes"}])
    batch = model.posteriors(frame)["c"].to_numpy()
    np.testing.assert_allclose(batch, [0.9, 0.9, 0.75], atol=1e-12)


def test_an_observed_cause_is_certain_when_other_cliques_underflow() -> None:
    """A clique off the P(e) path underflowed to 0/0: the observed cause came back NaN."""
    a, d, e = (Variable(n, ("absent", "present"), "cause", normal="absent") for n in "ADE")
    b = Variable("B", tuple(f"b{i}" for i in range(9)), "observation")
    c = Variable("C", ("no", "yes"), "observation")
    p_b = np.array([np.full(9, 1 / 9), np.eye(9)[0]])
    p_c = np.empty((9, 2, 2, 2))
    p_c[..., 1] = 0.5
    p_c[0, ..., 1] = 1e-200
    p_c[..., 0] = 1 - p_c[..., 1]
    priors = (np.array([1 - 1e-150, 1e-150]), np.array([0.9, 0.1]), np.array([0.8, 0.2]))
    network = Network((a, d, e, b, c), ((), (), (), (0,), (3, 1, 2)), (*priors, p_b, p_c))
    model = Model(network)
    evidence = {"A": "present", "C": "yes"}
    for row in (model.posterior(evidence), model.posteriors(pd.DataFrame([evidence] * 2)).iloc[0]):
        assert row.to_dict() == pytest.approx({"A": 1.0, "D": 0.1, "E": 0.2}, abs=1e-12)
    expected = math.log(1e-150) + math.log(1e-200)
    assert model.log_probability_of_evidence(evidence) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("weight", [1e-200, 1e-160, 1e160, 1e300])
def test_soft_evidence_of_any_scale_means_the_same(weight: float) -> None:
    """Only the ratios of soft weights matter: extreme ones must not under- or overflow."""
    model = naive_bayes((0.2, 0.7))
    soft = {o.id: {"yes": weight, "no": 0.0} for o in LEAVES}
    hard = model.posterior(BOTH_YES)["c"]
    assert model.posterior(soft=soft)["c"] == pytest.approx(hard, abs=1e-12)
    shift = 2 * math.log(weight)
    expected = model.log_probability_of_evidence(BOTH_YES) + shift
    assert model.log_probability_of_evidence(soft=soft) == pytest.approx(expected, rel=1e-12)


def _extreme(network: Network, seed: int) -> Network:
    """`network` with about a third of its table entries scaled down to 1e-150..1e-250."""
    rng = np.random.default_rng(seed)
    cpts = []
    for cpt in network.cpts:
        scale = np.where(rng.random(cpt.shape) < 0.35, 10.0 ** -rng.uniform(150, 250), 1.0)
        table = cpt * scale
        cpts.append(table / table.sum(axis=-1, keepdims=True))
    return Network(network.variables, network.parents, tuple(cpts), name="extreme")


@settings(max_examples=80, deadline=None)
@given(networks(max_nodes=7, zeros=True), st.integers(0, 2**32 - 1), st.data())
def test_extreme_tables_match_log_space_enumeration(
    network: Network, seed: int, data: st.DataObject
) -> None:
    """Random networks with entries near 1e-200 (and exact zeros): a single row and the same
    row in a batch equal a log-space enumeration, or are impossible exactly when it is."""
    assume(math.prod(network.cards) <= 1 << 14)
    network = _extreme(network, seed)
    evidence = data.draw(hard_evidence(network))
    assume(evidence)
    likelihoods: dict[int, FloatArray] = {
        v: np.eye(network.cards[v])[s] for v, s in evidence.items()
    }
    log_p_e, expected = log_posterior_marginals(network, likelihoods)
    tree = compile_network(network)
    single = tree.run({v: lik[None] for v, lik in likelihoods.items()})
    batch = tree.run({v: np.stack([lik, np.ones_like(lik)]) for v, lik in likelihoods.items()})
    for result in (single, batch):
        if log_p_e == -math.inf:
            assert result.log_evidence[0] == -math.inf
            continue
        assert result.log_evidence[0] == pytest.approx(log_p_e, abs=1e-9)
        for v in range(len(network)):
            np.testing.assert_allclose(result.marginals[v][0], expected[v], rtol=0, atol=1e-9)


def _underflowing_prior() -> Network:
    """hypothesis's seed-23 case: P(v0=present) = 5.5e-154 and P(v1=absent) = 2.6e-240, so
    their prior joint (1.4e-393) is 0 in doubles, yet v1=absent, v5=s0 makes it dominant."""
    causes = tuple(
        Variable(f"v{i}", ("absent", "present"), "cause", normal="absent") for i in range(5)
    )
    leaves = (
        Variable("v5", ("s0", "s1"), "observation"),
        Variable("v6", ("s0", "s1", "s2"), "observation"),
    )
    priors = [np.array([0.127, 0.873]), np.array([0.98, 0.02]), np.array([0.778, 0.222])]
    priors += [np.array([0.476, 0.524]), np.array([0.953, 0.047])]
    v5 = np.array([[0.96, 0.04], [1.0, 0.0]])
    v6 = np.array(
        [
            [
                [[0.357, 0.311, 0.332], [0.013, 0.808, 0.179]],
                [[0.0, 0.848, 0.152], [0.691, 0.0, 0.309]],
            ],
            [
                [[0.002, 0.998, 0.0], [0.513, 0.414, 0.073]],
                [[0.469, 0.527, 0.004], [0.159, 0.35, 0.491]],
            ],
        ]
    )
    cpts = tuple(c / c.sum(axis=-1, keepdims=True) for c in (*priors, v5, v6))
    parents = ((), (), (), (), (), (0,), (0, 1, 2))
    return _extreme(Network((*causes, *leaves), parents, cpts, name="r"), 0)


def test_a_prior_lost_to_underflow_does_not_mislead_a_single_row() -> None:
    """A single row once multiplied its ratio to the prior (1/5.5e-154) into a prior clique
    entry stored as 0 (log P(e) -991.2 for -904.6); it now equals the enumeration."""
    network = _underflowing_prior()
    likelihoods = {1: np.eye(2)[0], 5: np.eye(2)[0]}
    log_p_e, expected = log_posterior_marginals(network, likelihoods)
    tree = compile_network(network)
    assert not tree.exact_rows
    single = tree.run({v: lik[None] for v, lik in likelihoods.items()})
    assert single.log_evidence[0] == pytest.approx(log_p_e, abs=1e-9)
    for v in range(len(network)):
        np.testing.assert_allclose(single.marginals[v][0], expected[v], rtol=0, atol=1e-9)


def test_true_zeros_and_tiny_normal_entries_keep_the_single_row_walk() -> None:
    """Exact zeros in the tables and entries near 1e-200 that stay normal doubles are not
    underflow: the tree keeps single rows on the memoised walk."""
    rare = np.array([[1 - 1e-200, 1e-200], [0.0, 1.0]])
    zeros = np.array([[0.7, 0.3], [0.0, 1.0]])
    network = Network((CAUSE, *LEAVES), ((), (0,), (0,)), (np.array([0.5, 0.5]), rare, zeros))
    assert compile_network(network).exact_rows


def test_conflict_search_is_not_fooled_by_underflow() -> None:
    """Two unlikely symptoms together underflow in doubles; the smallest conflict named is
    still the pair that really cannot hold (a cause ruled out, its certain symptom seen)."""
    a = Variable("a", ("absent", "present"), "cause", normal="absent")
    b = Variable("b", ("absent", "present"), "cause", normal="absent")
    rare = np.array([[1 - 1e-200, 1e-200], [1 - 3e-200, 3e-200]])
    certain = np.array([[1.0, 0.0], [0.2, 0.8]])
    network = Network(
        (a, *LEAVES, b, Variable("o2", ("no", "yes"), "observation")),
        ((), (0,), (0,), (), (3,)),
        (np.array([0.5, 0.5]), rare, rare, np.array([0.9, 0.1]), certain),
    )
    model = Model(network)
    with pytest.raises(ImpossibleEvidenceError) as info:
        model.posterior({**BOTH_YES, "b": "absent", "o2": "yes"})
    assert info.value.conflict == {"b": "absent", "o2": "yes"}
