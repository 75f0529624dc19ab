"""The batched run's belief mode (one belief per clique, messages by division) against brute
force and against kernel mode, including impossible rows, soft evidence and zeros in tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncdx.inference import _batch, _blocked
from syncdx.inference._compile import compile_network
from syncdx.inference._engine import Result
from syncdx.network._bif import bundled_network, read_network_file, to_pgmpy
from syncdx.network._network import FloatArray, Network
from tests.oracle import joint, posterior_marginals
from tests.strategies import networks


def _rows(network: Network, rng: np.random.Generator, rows: int) -> dict[int, FloatArray]:
    """A batch mixing hard findings, soft evidence and blanks on a random subset of nodes."""
    chosen = rng.choice(len(network), size=rng.integers(1, len(network) + 1), replace=False)
    batch = {}
    for v in sorted(int(c) for c in chosen):
        card = network.cards[v]
        lik = np.eye(card)[rng.integers(card, size=rows)]
        soft = rng.random(rows) < 0.3
        lik[soft] = rng.random((int(soft.sum()), card))
        lik[rng.random(rows) < 0.2] = 1.0
        batch[v] = lik
    return batch


def _run(
    network: Network, batch: dict[int, FloatArray], entries: int, block: int | None = None
) -> Result:
    """A batched run with cliques of at least `entries` states in belief mode (their beliefs
    in blocks of at most `block` bytes, where given)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch, "BELIEF_ENTRIES", entries)
        if block is not None:
            patch.setattr(_blocked, "BLOCK_BYTES", block)
        return compile_network(network).run(batch)


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_belief_mode_matches_brute_force(network: Network, seed: int) -> None:
    """Every clique in belief mode: each row's P(e) and marginals equal enumeration's, and
    impossible rows give -inf and NaN."""
    assume(math.prod(network.cards) <= 1 << 16)
    batch = _rows(network, np.random.default_rng(seed), rows=6)
    result = _run(network, batch, 1)
    for row in range(6):
        with np.errstate(invalid="ignore"):
            p_e, expected = posterior_marginals(network, {v: x[row] for v, x in batch.items()})
        if p_e == 0.0:
            assert result.log_evidence[row] == -np.inf
            assert all(np.isnan(m[row]).all() for m in result.marginals.values())
            continue
        assert math.isclose(math.exp(result.log_evidence[row]), p_e, rel_tol=1e-9)
        for v in range(len(network)):
            np.testing.assert_allclose(result.marginals[v][row], expected[v], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(networks(max_nodes=10), st.integers(0, 2**32 - 1), st.integers(1, 64))
def test_belief_and_kernel_modes_agree(network: Network, seed: int, entries: int) -> None:
    """Any mix of belief-mode and kernel-mode cliques gives the kernel-only answer."""
    batch = _rows(network, np.random.default_rng(seed), rows=5)
    mixed, kernels = _run(network, batch, entries), _run(network, batch, 1 << 60)
    np.testing.assert_allclose(mixed.log_evidence, kernels.log_evidence, rtol=1e-10)
    for v in kernels.marginals:
        np.testing.assert_allclose(mixed.marginals[v], kernels.marginals[v], atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(networks(max_nodes=10, zeros=True), st.integers(0, 2**32 - 1), st.integers(1, 1 << 12))
def test_beliefs_in_blocks_equal_whole_beliefs(network: Network, seed: int, block: int) -> None:
    """Beliefs formed and summed in blocks of any size give the kernel-only answer."""
    batch = _rows(network, np.random.default_rng(seed), rows=5)
    blocked, kernels = _run(network, batch, 1, block), _run(network, batch, 1 << 60)
    np.testing.assert_array_equal(np.isfinite(blocked.log_evidence), kernels.possible)
    possible = kernels.possible
    np.testing.assert_allclose(  # log P(e) to 1e-12: P(e) to a relative 1e-12
        blocked.log_evidence[possible], kernels.log_evidence[possible], rtol=1e-10, atol=1e-12
    )
    for v in kernels.marginals:
        np.testing.assert_allclose(blocked.marginals[v], kernels.marginals[v], atol=1e-10)


@pytest.mark.parametrize("name", ["alarm", "win95pts"])
def test_belief_mode_on_bundled_networks(name: str) -> None:
    """On pgmpy's networks, belief mode everywhere gives the kernel-only answer, for all
    targets and for a few (a tree rooted elsewhere than the first target)."""
    network = read_network_file(bundled_network(name))
    batch = _rows(network, np.random.default_rng(5), rows=40)
    tree = compile_network(network)
    kernels = tree.run(batch, targets=[3, 0])
    for block in (_blocked.BLOCK_BYTES, 64):  # whole, and in blocks of a few states
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_batch, "BELIEF_ENTRIES", 16)
            patch.setattr(_blocked, "BLOCK_BYTES", block)
            beliefs = compile_network(network).run(batch, targets=[3, 0])
        np.testing.assert_allclose(beliefs.log_evidence, kernels.log_evidence, rtol=1e-10)
        for v in (0, 3):
            np.testing.assert_allclose(beliefs.marginals[v], kernels.marginals[v], atol=1e-10)


def _family_oracle(
    network: Network, likelihoods: dict[int, FloatArray], family: tuple[int, ...]
) -> tuple[float, FloatArray]:
    """P(e) and P(family | e) by enumeration, axes in the family's order."""
    table = joint(network)
    for var, lik in likelihoods.items():
        shape = [1] * len(network)
        shape[var] = len(lik)
        table = table * lik.reshape(shape)
    total = float(table.sum())
    kept = table.sum(axis=tuple(a for a in range(len(network)) if a not in family))
    order = sorted(family)
    return total, np.transpose(kept, [order.index(v) for v in family]) / total


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1), st.integers(1, 1 << 12))
def test_family_posteriors_match_brute_force(network: Network, seed: int, entries: int) -> None:
    """P(parents, node | e) for every family, and log P(e), equal enumeration on each row, in
    belief or kernel mode; impossible rows give -inf and NaN."""
    assume(math.prod(network.cards) <= 1 << 16)
    rng = np.random.default_rng(seed)
    batch = _rows(network, rng, rows=int(rng.integers(1, 5)))
    families = [(*network.parents[v], v) for v in range(len(network))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch, "BELIEF_ENTRIES", entries)
        log_z, joints = compile_network(network).families(batch, families)
    for row in range(len(log_z)):
        evidence = {v: x[row] for v, x in batch.items()}
        for family, got in zip(families, joints):
            with np.errstate(invalid="ignore"):
                p_e, expected = _family_oracle(network, evidence, family)
            assert got.shape[1:] == expected.shape
            if p_e == 0.0:
                assert log_z[row] == -np.inf
                assert np.isnan(got[row]).all()
                continue
            assert math.isclose(math.exp(log_z[row]), p_e, rel_tol=1e-9)
            np.testing.assert_allclose(got[row], expected, atol=1e-9)


def test_family_posteriors_on_alarm_match_pgmpy() -> None:
    """On alarm, P(family | e) of a node with two parents equals pgmpy's variable elimination."""
    from pgmpy.inference import VariableElimination

    network = read_network_file(bundled_network("alarm"))
    node = next(v for v, ps in enumerate(network.parents) if len(ps) == 2)
    family = (*network.parents[node], node)
    names = [network.variables[v].id for v in family]
    observed = [v for v in range(len(network)) if v not in family and not network.parents[v]]
    rng = np.random.default_rng(2)
    states = {v: int(rng.integers(network.cards[v])) for v in observed[:4]}
    batch = {v: np.eye(network.cards[v])[[s]] for v, s in states.items()}
    log_z, (got,) = compile_network(network).families(batch, [family])
    evidence = {network.variables[v].id: network.variables[v].states[s] for v, s in states.items()}
    factor = VariableElimination(to_pgmpy(network)).query(names, evidence, show_progress=False)
    expected = np.transpose(factor.values, [factor.variables.index(n) for n in names])
    np.testing.assert_allclose(got[0], expected, atol=1e-9)
    assert np.isfinite(log_z[0])
