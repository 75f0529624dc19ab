"""Query results as pandas Series: the fast assembly builds what the public constructor does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncdx.diagnosis import _series
from syncdx.diagnosis._series import series, several

probabilities = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12)


@given(probabilities)
def test_series_equals_the_public_constructor(values: list[float]) -> None:
    """Values, index, name and dtype are those `pd.Series(..., copy=False)` gives."""
    index = pd.Index([f"s{i}" for i in range(len(values))], dtype=object, name="state")
    array = np.array(values)
    built = series(array, index, "node")
    pd.testing.assert_series_equal(built, pd.Series(array, index=index, name="node"))
    assert built.name == "node"
    assert built.index.name == "state"


def test_this_pandas_takes_the_fast_route() -> None:
    """With the pandas installed here the internal route is found (not the fallback)."""
    series(np.array([0.5, 0.5]), pd.Index(["a", "b"]), "x")
    assert _series._route is not False


def test_a_series_behaves_as_any_other() -> None:
    """Arithmetic, sorting, assignment on a copy and renaming work, leaving the source alone."""
    index = pd.Index(["no", "yes"], name="state")
    built = series(np.array([0.2, 0.8]), index, "xray")
    assert built.idxmax() == "yes"
    assert (built * 2).tolist() == [0.4, 1.6]
    copy = built.copy()
    copy["no"] = 0.5
    renamed = built.rename("other")
    assert built["no"] == 0.2
    assert renamed.name == "other"
    assert built.name == "xray"
    assert list(built.sort_values(ascending=False).index) == ["yes", "no"]


def test_series_sharing_one_array_stay_apart() -> None:
    """Series over slices of one array (as `marginals()` builds them) change independently,
    and changing one in place neither moves the other nor its index."""
    flat = np.array([0.2, 0.8, 0.6, 0.4])
    index = pd.Index(["no", "yes"], name="state")
    first = series(flat[:2], index.view(), "a")
    second = series(flat[2:], index.view(), "b")
    first["no"] = 0.9
    first.index.name = "changed"
    assert second.tolist() == [0.6, 0.4]
    assert second.index.name == "state"
    assert index.name == "state"
    assert first.tolist() == [0.9, 0.8]


def test_fallback_when_pandas_internals_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pandas whose internal pieces moved gets the public constructor, same result."""

    monkeypatch.setattr(_series, "_route", None)
    monkeypatch.delattr("pandas.core.internals.SingleBlockManager")
    built = series(np.array([0.1, 0.9]), pd.Index(["a", "b"]), "y")
    assert _series._route is False
    pd.testing.assert_series_equal(built, pd.Series([0.1, 0.9], index=["a", "b"], name="y"))


@pytest.mark.parametrize("route", ["internal", "public"])
def test_several_series_equal_the_public_constructor_each(
    route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`several` cuts one array into Series equal to `pd.Series` over each slice, each with an
    index of its own: renaming one's index renames neither the others' nor the source's."""
    if route == "public":
        monkeypatch.setattr(_series, "_route", False)
    flat = np.array([0.2, 0.8, 0.1, 0.3, 0.6])
    indexes = [pd.Index(["no", "yes"], name="state"), pd.Index(["a", "b", "c"], name="state")]
    built = several(flat, ["x", "y"], indexes, [2, 3])
    pd.testing.assert_series_equal(built["x"], pd.Series([0.2, 0.8], index=indexes[0], name="x"))
    pd.testing.assert_series_equal(
        built["y"], pd.Series([0.1, 0.3, 0.6], index=indexes[1], name="y")
    )
    built["x"].index.name = "renamed"
    assert indexes[0].name == "state"
    again = several(flat, ["x"], indexes[:1], [2])
    assert again["x"].index.name == "state"
