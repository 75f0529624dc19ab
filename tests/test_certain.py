"""A target's hard finding makes its marginal exactly one-hot, on single rows and batches."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncdx.inference._compile import compile_network
from syncdx.network._network import FloatArray, Network
from tests.strategies import hard_evidence, networks


@settings(max_examples=80, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.data(), st.floats(1e-3, 1e3))
def test_a_single_rows_findings_are_exactly_one_hot(
    network: Network, data: st.DataObject, weight: float
) -> None:
    """On the single-row walk, a finding's marginal is exactly its state (a one-hot or one
    non-zero weight of any size), as in the same row batched; impossible rows stay NaN."""
    assume(math.prod(network.cards) <= 1 << 16)
    codes = data.draw(hard_evidence(network))
    assume(codes)
    row: dict[int, FloatArray] = {}
    for v, s in codes.items():
        row[v] = np.zeros((1, network.cards[v]))
        row[v][0, s] = weight if v % 2 else 1.0
    tree = compile_network(network)
    single = tree.run(row)
    batch = tree.run({v: np.repeat(lik, 2, axis=0) for v, lik in row.items()})
    for result in (single, batch):
        if not result.possible[0]:
            assert all(np.isnan(m[0]).all() for m in result.marginals.values())
            continue
        for v, s in codes.items():
            np.testing.assert_array_equal(result.marginals[v][0], np.eye(network.cards[v])[s])
