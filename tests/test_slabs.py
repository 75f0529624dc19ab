"""A belief-mode clique formed and summed slab by slab (`_slabs.Front`): the same sums as the
whole product, for any slab size, and the same runs as kernel mode."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx.inference import _batch, _slabs
from syncdx.inference._batch import Spare
from syncdx.inference._engine import compile_network
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network
from tests.strategies import networks
from tests.test_beliefs import _rows


@st.composite
def fronts(draw: st.DrawFn) -> tuple[tuple[int, ...], list[tuple[bool, ...]], list[FloatArray]]:
    """A clique's shape, some sums (summed-axis flags) and factors (each over some axes)."""
    cards = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=6)))
    flags = st.tuples(*(st.booleans() for _ in cards))
    sums = draw(st.lists(flags, min_size=1, max_size=4))
    rows = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    factors = []
    for scope in draw(st.lists(flags, max_size=4)):
        shape = tuple(n if keep else 1 for n, keep in zip(cards, scope))
        factors.append(rng.random((*shape, rows)))
    factors.append(rng.random((*(1 for _ in cards), rows)))  # at least one factor with rows
    return cards, sums, factors


@settings(max_examples=150, deadline=None)
@given(fronts(), st.sampled_from([1, 2, 7, 1 << 16]), st.booleans(), st.booleans())
def test_front_sums_equal_the_whole_product(
    drawn: tuple[tuple[int, ...], list[tuple[bool, ...]], list[FloatArray]],
    slab: int,
    from_table: bool,
    keep: bool,
) -> None:
    """Each sum a front gives equals the whole product (table or earlier belief times the
    factors) summed over its flagged axes, and a kept belief equals that product, whatever
    the slab size."""
    cards, sums, factors = drawn
    rows = factors[-1].shape[-1]
    rng = np.random.default_rng(len(factors))
    table = rng.random(cards)
    whole = math.prod(factors, start=table[..., None] * np.ones(rows))
    shapes = tuple((*f.shape[:-1], -1) for f in factors)
    flat = [f.reshape(-1, rows) for f in factors]
    last = tuple(range(len(factors)))
    if from_table:
        front = _slabs.Front(cards, table[..., None], shapes, (), last, tuple(sums), keep)
        inputs = flat
    else:
        front = _slabs.Front(cards, None, shapes, (), last, tuple(sums), keep)
        inputs = [table[..., None] * np.ones(rows), *flat]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_slabs, "SLAB_ENTRIES", slab)
        belief, outs = front(inputs, Spare())
    for summed, out in zip(sums, outs):
        axes = tuple(a for a, flag in enumerate(summed) if flag)
        np.testing.assert_allclose(out, whole.sum(axis=axes), rtol=1e-12)
    if keep:
        assert belief is not None
        np.testing.assert_allclose(belief, whole, rtol=1e-12)
    else:
        assert belief is None


def _run_in_slabs(
    network: Network, batch: dict[int, FloatArray], slab: int, targets: list[int] | None = None
) -> tuple[FloatArray, Mapping[int, FloatArray]]:
    """A batched run with every clique of 16 states or more in belief mode, slabs of `slab`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch, "BELIEF_ENTRIES", 16)
        patch.setattr(_slabs, "SLAB_ENTRIES", slab)
        result = compile_network(network).run(batch, targets)
    return result.log_evidence, result.marginals


@settings(max_examples=30, deadline=None)
@given(networks(max_nodes=10, zeros=True), st.integers(0, 2**32 - 1), st.sampled_from([1, 3, 40]))
def test_slabbed_runs_match_kernel_mode(network: Network, seed: int, slab: int) -> None:
    """Beliefs formed in slabs of any size give the kernel-only answer (P(e), marginals, and
    -inf and NaN on impossible rows)."""
    batch = _rows(network, np.random.default_rng(seed), rows=5)
    log_z, marginals = _run_in_slabs(network, batch, slab)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch, "BELIEF_ENTRIES", 1 << 60)
        kernels = compile_network(network).run(batch)
    np.testing.assert_allclose(log_z, kernels.log_evidence, rtol=1e-10, atol=1e-12)
    for v in kernels.marginals:
        np.testing.assert_allclose(marginals[v], kernels.marginals[v], atol=1e-10)


@pytest.mark.parametrize("name", ["win95pts", "hailfinder"])
def test_slabbed_runs_on_bundled_networks(name: str) -> None:
    """On pgmpy's networks, beliefs in tiny slabs give the default run's answer, for all
    targets and for a few."""
    network = read_network_file(bundled_network(name))
    batch = _rows(network, np.random.default_rng(7), rows=30)
    for targets in (None, [5, 1]):
        expected = compile_network(network).run(batch, targets)
        log_z, marginals = _run_in_slabs(network, batch, 4, targets)
        np.testing.assert_allclose(log_z, expected.log_evidence, rtol=1e-10, atol=1e-12)
        for v in expected.marginals:
            np.testing.assert_allclose(marginals[v], expected.marginals[v], atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(networks(max_nodes=8, zeros=True), st.integers(0, 2**32 - 1))
def test_slabbed_family_posteriors_match_kernel_mode(network: Network, seed: int) -> None:
    """Family joints (a segment that may be a whole clique: the belief itself) from slabbed
    beliefs equal kernel mode's."""
    batch = _rows(network, np.random.default_rng(seed), rows=3)
    families = [(*network.parents[v], v) for v in range(len(network))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch, "BELIEF_ENTRIES", 1 << 60)
        log_k, kernels = compile_network(network).families(batch, families)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_batch, "BELIEF_ENTRIES", 4)
        patch.setattr(_slabs, "SLAB_ENTRIES", 2)
        log_z, joints = compile_network(network).families(batch, families)
    np.testing.assert_allclose(log_z, log_k, rtol=1e-10, atol=1e-12)
    for got, expected in zip(joints, kernels):
        np.testing.assert_allclose(got, expected, atol=1e-10)
