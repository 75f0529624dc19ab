"""Rankings of scores: ties within rounding noise go to the first column, whatever the noise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from syncdx._ranking import TIE, best, descending, leading
from tests.strategies import noisy_scores


@given(noisy_scores())
def test_noise_below_the_tie_width_never_changes_a_ranking(
    scores: tuple[np.ndarray, np.ndarray],
) -> None:
    """Exact values and values off in their last bits rank the same, ties in column order."""
    exact, noisy = scores
    order = descending(noisy)
    np.testing.assert_array_equal(order, descending(exact))
    np.testing.assert_array_equal(best(noisy), order[:, 0])
    for row, ranked in zip(noisy, order):  # one row alone (its own code path) ranks the same
        np.testing.assert_array_equal(descending(row), ranked)
    for row, ranked in zip(exact, order):
        assert sorted(ranked.tolist()) == list(range(len(row)))
        values = row[ranked]
        assert np.all(np.diff(values) <= TIE)
        for a, b in itertools.pairwise(ranked):
            if abs(row[a] - row[b]) <= TIE:
                assert a < b


def test_nan_ranks_last_and_never_wins() -> None:
    """A NaN score (an impossible row's) is listed last and chosen only when all are NaN."""
    values = np.array([[np.nan, 0.2, 0.7], [np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(descending(values), [[2, 1, 0], [0, 1, 2]])
    np.testing.assert_array_equal(descending(values[0]), [2, 1, 0])
    np.testing.assert_array_equal(best(values), [2, 0])


@pytest.mark.parametrize("values", [np.array([0.1, 0.3, 0.3 + 1e-15, 0.2])])
def test_one_dimensional_scores_give_one_ranking(values: np.ndarray) -> None:
    """A 1-d array is one row and its ranking is 1-d."""
    np.testing.assert_array_equal(descending(values), [1, 2, 3, 0])


def test_infinite_scores_tie_with_each_other() -> None:
    """Free questions (gain per minute = inf) tie among themselves and lead the ranking."""
    values = np.array([[1.0, np.inf, 2.0, np.inf]])
    np.testing.assert_array_equal(descending(values), [[1, 3, 2, 0]])
    np.testing.assert_array_equal(descending(values[0]), [1, 3, 2, 0])
    np.testing.assert_array_equal(best(values), [1])


def test_no_columns_rank_to_empty_rows() -> None:
    """Rows with nothing to rank (no candidate question left) give empty rankings."""
    assert descending(np.empty((3, 0))).shape == (3, 0)


#: Scores where ties of every kind are common: exact, within the tie width, chained, NaN, inf.
_tied_levels = st.sampled_from([0.0, 0.25, 0.25 + 1e-12, 0.25 + 2e-9, 0.5, np.nan, np.inf, -np.inf])


@given(
    st.integers(1, 9).flatmap(
        lambda columns: arrays(np.float64, st.tuples(st.integers(0, 30), st.just(columns)),
                               elements=_tied_levels)
    ),
    st.integers(0, 10),
)  # fmt: skip
def test_leading_columns_are_the_first_of_the_full_ranking(values: np.ndarray, count: int) -> None:
    """leading(values, k) gives the first k columns of descending(values), whatever the ties,
    NaN and infinities (rows it cannot settle by argmax are sorted)."""
    expected = descending(values)[:, :count]
    np.testing.assert_array_equal(leading(values, count), expected)


def test_leading_leaves_its_input_alone() -> None:
    """leading ranks a copy: the scores passed in keep their values."""
    values = np.array([[0.1, 0.7, 0.2, 0.5], [0.3, 0.3, 0.9, 0.0]])
    before = values.copy()
    np.testing.assert_array_equal(leading(values, 2), [[1, 3], [2, 0]])
    np.testing.assert_array_equal(values, before)
