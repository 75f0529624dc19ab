"""Forward sampling agrees with exact inference."""

from __future__ import annotations

import numpy as np

import syncdx
from syncdx.network._sampling import sample, sample_codes


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


def test_each_table_row_fits_its_sampled_counts() -> None:
    """Per node and parent configuration, the drawn states fit the table row (chi-square)."""
    from scipy.stats import chi2

    network = syncdx.load_model().network
    codes = sample_codes(network, 200_000, np.random.default_rng(5))
    statistic, dof = 0.0, 0
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        rows = cpt.reshape(-1, cpt.shape[-1])
        config = np.ravel_multi_index(tuple(codes[p] for p in parents), cpt.shape[:-1])
        counts = np.zeros_like(rows)
        np.add.at(counts, (config, codes[var]), 1)
        for observed, p in zip(counts, rows):
            support = p > 0
            assert observed[~support].sum() == 0  # an impossible state is never drawn
            if observed.sum() >= 50 and support.sum() > 1:
                expected = observed.sum() * p[support]
                statistic += float(((observed[support] - expected) ** 2 / expected).sum())
                dof += int(support.sum()) - 1
    assert dof > 50
    assert statistic < chi2.ppf(0.999, dof)


def test_sample_is_sample_codes_as_one_table() -> None:
    """`sample` gives the draws of `sample_codes` for one seed, as (rows, variables) int64."""
    network = syncdx.load_model().network
    codes = sample_codes(network, 1_000, np.random.default_rng(4))
    states = sample(network, 1_000, np.random.default_rng(4))
    assert states.dtype == np.int64
    assert states.shape == (1_000, len(network))
    np.testing.assert_array_equal(states, codes.T)
