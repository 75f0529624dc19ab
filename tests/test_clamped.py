"""Inference with clamped variables by tabulated components, against brute-force enumeration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx.inference import _clamped
from syncdx.inference._clamped import Clamped
from syncdx.network._network import FloatArray, Network
from tests.oracle import joint
from tests.strategies import networks


def _brute_force(
    table: FloatArray, clamped: list[int], states: np.ndarray, evidence: dict[int, FloatArray]
) -> tuple[FloatArray, list[list[FloatArray]]]:
    """log P(e, X = x) per configuration and every variable's marginal, from the joint."""
    logs, marginals = [], []
    for configuration in states:
        weighted = table.copy()
        for v, lik in [*evidence.items(), *zip(clamped, np.eye(2)[configuration])]:
            shape = [1] * table.ndim
            shape[v] = -1
            weighted = weighted * lik[: table.shape[v]].reshape(shape)
        total = weighted.sum()
        logs.append(np.log(total) if total > 0 else -np.inf)
        axes = range(table.ndim)
        marginals.append(
            [
                weighted.sum(axis=tuple(a for a in axes if a != v)) / total
                if total > 0
                else np.zeros(table.shape[v])
                for v in axes
            ]
        )
    return np.array(logs), marginals


@settings(max_examples=80, deadline=None)
@given(network=networks(max_nodes=7, zeros=True), data=st.data())
def test_clamped_inference_equals_enumeration(network: Network, data: st.DataObject) -> None:
    """log P(e, X = x) and P(T | e, X = x) for random clamps of binary variables (roots or
    not), configurations and soft or hard evidence equal brute-force enumeration."""
    binary = [v for v in range(len(network)) if network.cards[v] == 2]
    clamped = (
        data.draw(st.lists(st.sampled_from(binary), unique=True, max_size=4)) if binary else []
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    states = rng.integers(0, 2, size=(data.draw(st.integers(1, 5)), len(clamped))).astype(np.intp)
    observed = data.draw(st.lists(st.integers(0, len(network) - 1), unique=True))
    evidence = {
        v: rng.random(network.cards[v]) * (rng.random(network.cards[v]) < 0.8) for v in observed
    }
    model = Clamped.of(network, clamped, states)
    assert model is not None
    free = [v for v in range(len(network)) if v not in clamped]
    log_z, marginals = model.run({v: e[np.newaxis] for v, e in evidence.items()}, free, 1)
    expected_log, expected = _brute_force(joint(network), clamped, states, evidence)
    finite = np.isfinite(expected_log)
    assert (np.isfinite(log_z[0]) == finite).all()
    assert log_z[0][finite] == pytest.approx(expected_log[finite], abs=1e-9)
    for c, configuration in enumerate(expected):
        for v in free:
            assert marginals[v][0, c] == pytest.approx(configuration[v], abs=1e-9)


def test_a_component_too_large_to_tabulate_is_left_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`Clamped.of` gives None when its tables would exceed `TABLE_ENTRIES`."""
    network = syncdx.load_model().network
    monkeypatch.setattr(_clamped, "TABLE_ENTRIES", 1)
    assert Clamped.of(network, [], np.zeros((1, 0), dtype=np.intp)) is None


def test_rows_are_split_to_bound_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many rows through a small work bound give the same answers as one pass."""
    network = syncdx.load_model().network
    causes = [network.index[c] for c in network.ids("cause")]
    rng = np.random.default_rng(0)
    model = Clamped.of(network, causes, rng.integers(0, 2, (6, len(causes))).astype(np.intp))
    assert model is not None
    targets = [v for v in range(len(network)) if v not in causes]
    evidence = {v: rng.random((9, network.cards[v])) for v in targets}
    whole = model.run(evidence, targets, 9)
    monkeypatch.setattr(_clamped, "WORK_ENTRIES", 1)
    split = model.run(evidence, targets, 9)
    assert split[0] == pytest.approx(whole[0], rel=1e-12)
    for v in targets:
        assert split[1][v] == pytest.approx(whole[1][v], rel=1e-12, abs=1e-15)
