"""Einsum kernels that multiply their last two factors inside the einsum give what the sum of
the clique table times every input gives."""

from __future__ import annotations

import string
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx.inference import _kernels
from syncdx.inference._batch import Spare
from syncdx.inference._kernels import build_kernel


@st.composite
def cliques(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, ...]], tuple[int, ...]]:
    """Cards of a clique's variables (0..n-1), its live input scopes and an output segment."""
    n = draw(st.integers(2, 5))
    cards = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    scope = st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)
    live = [tuple(sorted(s)) for s in draw(st.lists(scope, min_size=2, max_size=4))]
    segment = tuple(sorted(draw(scope)))
    return cards, live, segment


@settings(max_examples=60, deadline=None)
@given(cliques(), st.integers(1, 6), st.integers(0, 2**32 - 1), st.booleans())
def test_fused_einsum_kernel_matches_the_brute_force_sum(
    clique: tuple[list[int], list[tuple[int, ...]], tuple[int, ...]],
    rows: int,
    seed: int,
    message: bool,
) -> None:
    """A message or marginals kernel forced to the einsum form fuses its last product into the
    einsum, and its totals and normalised outputs equal the table times every input summed
    to the segment (to 1e-12 relative), with or without scratch arrays."""
    cards, live, segment = clique
    own = tuple(range(len(cards)))
    rng = np.random.default_rng(seed)
    table = rng.random(cards) + 0.1
    inputs = [rng.random((*(cards[v] for v in s), rows)) + 0.1 for s in live]
    with mock.patch.multiple(_kernels, _DENSE_ENTRIES=0, _DENSE_TARGET_ENTRIES=0):
        if message:
            kernel = build_kernel(own, cards, table, tuple(live), segment)
        else:
            kernel = build_kernel(own, cards, table, tuple(live), None, (segment,))
    assert kernel.fused
    letters = string.ascii_letters
    terms = ",".join("".join(letters[v] for v in s) + "z" for s in live)
    out = "".join(letters[v] for v in segment) + "z"
    every = np.einsum(f"{letters[: len(own)]},{terms}->{out}", table, *inputs)
    every = every.reshape(-1, rows)
    flat = [x.reshape(-1, rows) for x in inputs]
    for scratch in (None, Spare()):
        total, values = kernel(flat, scratch)
        np.testing.assert_allclose(total, every.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(values, every / every.sum(axis=0), rtol=1e-12)
