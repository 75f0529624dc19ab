"""Forward sampling agrees with exact inference."""

from __future__ import annotations

import numpy as np

import syncdx
from syncdx.network._sampling import sample


def test_sample_frequencies_match_exact_marginals() -> None:
    """Sampled state frequencies converge to the exact prior marginals."""
    model = syncdx.load_model()
    draws = sample(model.network, 100_000, np.random.default_rng(1))
    marginals = model.marginals()
    for name, series in marginals.items():
        column = draws[:, model.network.index[name]]
        frequencies = np.bincount(column, minlength=len(series)) / len(column)
        np.testing.assert_allclose(frequencies, series.to_numpy(), atol=0.01)


def test_fixed_nodes_are_set_per_row() -> None:
    """Fixed nodes take the given states; the rest is still drawn."""
    model = syncdx.load_model()
    outage = model.network.index["icloud_outage"]
    rows = np.array([0, 1, 1, 0])
    draws = sample(model.network, 4, np.random.default_rng(2), fixed={"icloud_outage": rows})
    np.testing.assert_array_equal(draws[:, outage], rows)
