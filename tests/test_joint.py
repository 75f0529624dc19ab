"""Single queries on tiny networks through their joint: brute force, the walk, and the edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncdx import Model
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.errors import ImpossibleEvidenceError
from syncdx.inference._compile import compile_network
from syncdx.inference._joint import Joint
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import Network, Variable
from tests.oracle import check_result, log_posterior_marginals, mixed_row
from tests.strategies import hard_evidence, networks


def _joint_of(network: Network) -> Joint:
    joint = Joint.of(network)
    assume(joint is not None)
    assert joint is not None
    return joint


@settings(max_examples=150, deadline=None)
@given(st.data(), st.booleans())
def test_hard_findings_match_brute_force(data: st.DataObject, zeros: bool) -> None:
    """Hard findings, zeros in the tables or not: the joint's row equals enumeration, a
    finding's own marginal is exactly one-hot, impossible evidence is -inf (never NaN)."""
    network = data.draw(networks(max_nodes=8, zeros=zeros))
    joint = _joint_of(network)
    codes = data.draw(hard_evidence(network))
    result = joint.hard(codes, None)
    row = {v: np.eye(network.cards[v])[s][None] for v, s in codes.items()}
    check_result(network, result, row)
    assert not np.isnan(result.log_evidence).any()
    if result.possible[0]:
        for v, s in codes.items():
            np.testing.assert_array_equal(result.marginals[v][0], np.eye(network.cards[v])[s])


@settings(max_examples=150, deadline=None)
@given(networks(max_nodes=8, zeros=True), st.integers(0, 2**32 - 1))
def test_mixed_rows_match_brute_force(network: Network, seed: int) -> None:
    """Rows of hard findings, soft weights (some zero) and ones: where the joint takes the row
    it equals enumeration, and the Diagnoser (which walks the rest) always does."""
    joint = _joint_of(network)
    diagnoser = Diagnoser(network)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        row = mixed_row(network, rng)
        result = joint.run(row, None)
        if result is not None:
            check_result(network, result, row)
        check_result(network, diagnoser.infer(row, None), row)


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=7), st.integers(0, 2**32 - 1), st.data())
def test_public_queries_equal_the_walk(network: Network, seed: int, data: st.DataObject) -> None:
    """`marginals()` (of every node or some), `posterior()` and log P(e) on a tiny network
    (the joint) equal the junction-tree walk's answers for the same hard findings."""
    _joint_of(network)
    model = Model(network)
    codes = data.draw(hard_evidence(network))
    evidence = {network.variables[v].id: network.variables[v].states[s] for v, s in codes.items()}
    walked = compile_network(network).run(
        {v: np.eye(network.cards[v])[s][None] for v, s in codes.items()}
    )
    marginals = model.marginals(evidence)
    for v, variable in enumerate(network.variables):
        np.testing.assert_allclose(marginals[variable.id].to_numpy(), walked.marginals[v][0])
        assert list(marginals[variable.id].index) == list(variable.states)
    last = network.variables[-1].id
    some = model.marginals(evidence, variables=[last])
    assert list(some) == [last]
    np.testing.assert_allclose(some[last].to_numpy(), walked.marginals[len(network) - 1][0])
    posterior = model.posterior(evidence)
    for cause in model.causes:
        v = network.index[cause]
        absent = network.variables[v].states.index(network.variables[v].normal)
        assert posterior[cause] == pytest.approx(1.0 - walked.marginals[v][0, absent], abs=1e-12)
    expected = walked.log_evidence[0]
    assert model.log_probability_of_evidence(evidence) == pytest.approx(expected, abs=1e-12)


def test_impossible_evidence_is_an_error_not_nan() -> None:
    """On a tiny network a finding its parent rules out is an ImpossibleEvidenceError and
    log P(e) = -inf, through the joint's hard and likelihood paths alike."""
    network = read_network_file(bundled_network("asia"))
    model = Model(network)
    assert model.diagnoser._joint is not None
    # either: lung or tub (a deterministic OR); "either = no" with "lung = yes" is impossible
    evidence = {"lung": "yes", "either": "no"}
    with pytest.raises(ImpossibleEvidenceError):
        model.marginals(evidence)
    assert model.log_probability_of_evidence(evidence) == -math.inf
    soft = {"either": {"yes": 0.0, "no": 0.5}}
    with pytest.raises(ImpossibleEvidenceError):
        model.posterior({"lung": "yes"}, soft=soft)


def test_asia_matches_brute_force_on_every_evidence_pattern() -> None:
    """asia (256 joint states) through the joint: every pattern of findings on its leaves and
    more, each equal to enumeration."""
    network = read_network_file(bundled_network("asia"))
    joint = Joint.of(network)
    assert joint is not None
    rng = np.random.default_rng(7)
    for mask in range(1 << len(network)):
        codes = {v: int(rng.integers(2)) for v in range(len(network)) if mask >> v & 1}
        row = {v: np.eye(2)[s][None] for v, s in codes.items()}
        check_result(network, joint.hard(codes, None), row)


def test_networks_it_cannot_hold_exactly_are_refused() -> None:
    """Too many joint states, an indicator matrix past its bound (two variables of 64
    states), or a table entry small enough that a joint entry could fall below the floor: no
    joint (the walk answers)."""
    network = read_network_file(bundled_network("child"))
    assert Joint.of(network) is None
    wide = tuple(Variable(f"w{i}", tuple(f"s{k}" for k in range(64)), "observation") for i in "ab")
    pair = Network(wide, ((), (0,)), (np.full(64, 1 / 64), np.full((64, 64), 1 / 64)))
    assert Joint.of(pair) is None
    asia = read_network_file(bundled_network("asia"))
    cpts = list(asia.cpts)
    cpts[0] = np.array([1.0 - 1e-150, 1e-150])
    cpts[1] = np.array([[1.0 - 1e-150, 1e-150], [0.5, 0.5]])
    extreme = Network(asia.variables, asia.parents, tuple(cpts))
    assert Joint.of(extreme) is None
    assert Joint.of(asia) is not None


def test_soft_weights_that_could_underflow_take_the_walk() -> None:
    """A soft weight so small that a term could underflow: the joint declines the row and the
    Diagnoser's answer (from the walk) still equals a log-space enumeration."""
    network = read_network_file(bundled_network("asia"))
    joint = Joint.of(network)
    assert joint is not None
    row = {7: np.array([[1.0, 1e-300]]), 5: np.array([[1e-200, 1.0]])}
    assert joint.run(row, None) is None
    result = Diagnoser(network).infer(row, None)
    log_p_e, expected = log_posterior_marginals(network, {v: lik[0] for v, lik in row.items()})
    assert result.log_evidence[0] == pytest.approx(log_p_e, rel=1e-12)
    for v in range(len(network)):
        np.testing.assert_allclose(result.marginals[v][0], expected[v], rtol=1e-9, atol=1e-300)


def test_rows_with_no_evidence_or_bad_weights_are_declined() -> None:
    """Ones only, a NaN or a negative weight: not the joint's to answer (None)."""
    network = read_network_file(bundled_network("asia"))
    joint = Joint.of(network)
    assert joint is not None
    for weights in ([1.0, 1.0], [np.nan, 1.0], [-1.0, 2.0], [np.inf, 1.0]):
        assert joint.run({3: np.array([weights])}, None) is None


def test_only_the_targets_come_back() -> None:
    """Targets given: their marginals only, a hard finding's one-hot among them."""
    network = read_network_file(bundled_network("asia"))
    joint = Joint.of(network)
    assert joint is not None
    result = joint.hard({2: 1, 6: 0}, (6, 0))
    assert set(result.marginals) == {0, 6}
    np.testing.assert_array_equal(result.marginals[6], [[1.0, 0.0]])
    assert joint.run({2: np.array([[0.0, 1.0]])}, ()) is not None
