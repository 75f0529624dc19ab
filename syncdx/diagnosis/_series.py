"""Labelled query results as pandas Series, built at the cost of a small query.

`pd.Series(values, index=...)` checks and converts its arguments: 10-13 us a Series, more than
a whole single query on a small network (`marginals()` builds one per node). Here the values
are always a fresh 1-d float64 array and the index a ready pandas Index, so the Series is
assembled from a block manager directly (4-5 us). That route goes through pandas internals
(`SingleBlockManager.from_array`, `Series._from_mgr`, there since pandas 2.1); in a pandas
that lacks them, or where they build something else, the public constructor is used instead
(checked once, on first use), and `tests/test_series.py` pins the two to the same Series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.network._network import FloatArray

#: pandas' internal constructors once found to work (None: not looked for yet; False: the
#: public constructor instead).
_route: Any = None


def series(values: FloatArray, index: pd.Index, name: str) -> pd.Series:
    """`pd.Series(values, index=index, name=name, copy=False)`: `values` a 1-d float64 array
    as long as `index`, which the Series holds from now on (not copied)."""
    global _route
    import pandas as pd  # here, not above: `import syncdx` does not load pandas

    if _route is None:
        _route = _internal_route(pd)
    if _route is False:
        return pd.Series(values, index=index, name=name, copy=False)
    return _assembled(_route, values, index, name)


def _assembled(route: Any, values: FloatArray, index: pd.Index, name: str) -> pd.Series:
    from_mgr, manager = route
    mgr = manager.from_array(values, index)
    built = from_mgr(mgr, mgr.axes)
    built._name = name  # what the `name` setter stores once it has checked the name
    made: pd.Series = built
    return made


def _internal_route(pd: Any) -> Any:
    """(Series._from_mgr, SingleBlockManager) if this pandas has them and they build what the
    public constructor builds, else False."""
    try:
        from pandas.core.internals import SingleBlockManager  # type: ignore[import-not-found]

        route = (pd.Series._from_mgr, SingleBlockManager)
        values, index = np.array([0.25, 0.75]), pd.Index(["a", "b"], name="state")
        built = _assembled(route, values, index, "x")
        pd.testing.assert_series_equal(built, pd.Series(values, index=index, name="x"))
        same = np.shares_memory(built.to_numpy(), values) and built.index is index
    except Exception:  # a pandas whose internals moved, or that builds another Series
        return False
    return route if same else False
