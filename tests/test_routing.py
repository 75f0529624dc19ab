"""Batches send the rows that are cheaper alone through the single-row walk, with the same
answers as the batched passes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx.inference import _routing
from syncdx.inference._compile import compile_network
from syncdx.inference._routing import Router
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network
from tests.strategies import networks


def _rows(network: Network, rng: np.random.Generator, rows: int) -> dict[int, FloatArray]:
    """A batch over four variables: per row and variable a hard finding, soft weights (some
    zero) or ones (no finding)."""
    chosen = rng.choice(len(network), size=min(4, len(network)), replace=False)
    batch = {}
    for v in sorted(int(c) for c in chosen):
        card = network.cards[v]
        kind = rng.integers(3, size=rows)
        hard = np.eye(card)[rng.integers(card, size=rows)]
        soft = rng.random((rows, card)) * (rng.random((rows, card)) < 0.8)
        batch[v] = np.where((kind == 0)[:, None], hard, np.where((kind == 1)[:, None], soft, 1.0))
    return batch


def test_a_small_tree_never_walks() -> None:
    """On a tree whose cliques' fixed walk costs exceed its entries (alarm), no row walks,
    whatever its findings."""
    network = read_network_file(bundled_network("alarm"))
    tree = compile_network(network)
    router = Router.of(tree.cliques, tree.cards)
    hard = {v: np.eye(network.cards[v])[[0, 0]] for v in range(len(network))}
    assert not router.walks
    assert router.walked(hard).size == 0


def test_rows_walk_when_their_hard_findings_cut_the_tables() -> None:
    """On one 2.56M-entry clique, rows with hard findings walk (two: 1,600 entries to read,
    one: 64,000, each plus the fixed cost); rows with only soft weights or no findings would
    read every entry alone, and stay in the batch."""
    router = Router.of(((0, 1, 2, 3),), (40, 40, 40, 40))
    one, ones, soft = np.eye(40)[3], np.ones(40), np.linspace(0.1, 1.0, 40)
    batch = {0: np.array([one, one, soft, ones]), 1: np.array([one, ones, soft, ones])}
    assert router.walks
    assert router.walked(batch).tolist() == [0, 1]


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=8, zeros=True), st.integers(0, 2**32 - 1))
def test_walked_rows_equal_the_batch(network: Network, seed: int) -> None:
    """With every row that has a hard finding walked (no fixed cost; the rows weighed a few
    at a time), a batch gives the batched passes' log P(e) and marginals, impossible rows
    included (-inf, NaN)."""
    rng = np.random.default_rng(seed)
    batch = _rows(network, rng, rows=6)
    tree = compile_network(network)
    with np.errstate(invalid="ignore", divide="ignore"):
        batched = tree.run(batch)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_routing, "CLIQUE_COST", 0)
            walked_tree = compile_network(network)
            assert walked_tree._router.walks
            patch.setattr(_routing, "_BLOCK", int(rng.integers(1, 40)))  # a few rows at a time
            walked = walked_tree.run(batch)
    # an absolute tolerance on log P(e) is a relative one on P(e)
    np.testing.assert_allclose(walked.log_evidence, batched.log_evidence, rtol=0, atol=1e-9)
    for var, values in batched.marginals.items():
        np.testing.assert_allclose(walked.marginals[var], values, rtol=0, atol=1e-9)


def test_a_tree_whose_weights_would_outgrow_it_never_walks() -> None:
    """The router's (variables x cliques) weights are built only while no larger than the
    tree's tables or `_BLOCK`: past both, every row stays in the batch."""
    wide = (tuple(range(10)),), (2,) * 10  # 10 x 1 weights, 1,024 entries
    many = tuple((v,) for v in range(100)), (2,) * 100  # 100 x 100 weights, 200 entries
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_routing, "CLIQUE_COST", 0)
        assert Router.of(*many).walks  # within `_BLOCK`
        patch.setattr(_routing, "_BLOCK", 1)
        assert Router.of(*wide).walks
        assert not Router.of(*many).walks
        assert Router.of(*many).walked({0: np.eye(2)[[0, 1]]}).size == 0
