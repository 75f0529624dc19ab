"""Labelled query results as pandas Series, built at the cost of a small query.

`pd.Series(values, index=...)` checks and converts its arguments: 10-13 us a Series, more than
a whole single query on a small network (`marginals()` builds one per node). Here the values
are always a fresh 1-d float64 array and the index a ready pandas Index, so the Series is
assembled from its parts directly (about 3 us): a float block over the values, a single-block
manager holding it and the index, and the Series around the manager, as
`SingleBlockManager.from_array` and `Series._from_mgr` build them (less their checks and
conversions, which a float64 array does not need). That route goes through pandas internals
(`NumpyBlock`, `BlockPlacement`, `SingleBlockManager`, `NDFrame.__init__`, there since pandas
2.1); in a pandas that lacks them, or where they build something else, the public constructor
is used instead (checked once, on first use), and `tests/test_series.py` pins the two to the
same Series.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    import pandas as pd  # here, not above: `import syncdx` does not load pandas

    route = _found(pd)
    if route is False:
        return pd.Series(values, index=index, name=name, copy=False)
    return _assembled(route, values, index, name)


def several(
    flat: FloatArray, names: Sequence[str], indexes: Sequence[pd.Index], sizes: Sequence[int]
) -> dict[str, pd.Series]:
    """{name: `series` of the next `size` values of `flat` over a view of `index`} for the
    names in order (`flat` as long as the sizes together): each Series holding a slice of
    `flat` and an index of its own (renaming one renames no other)."""
    import pandas as pd

    route = _found(pd)
    view = pd.Index.view if route is False else route[-1]
    out, end = {}, 0
    for name, index, size in zip(names, indexes, sizes):
        start, end = end, end + size
        out[name] = series(flat[start:end], view(index), name)
    return out


def _found(pd: Any) -> Any:
    """The internal route (see `_internal_route`), looked for on first use."""
    global _route
    if _route is None:
        _route = _internal_route(pd)
    return _route


def _assembled(route: Any, values: FloatArray, index: pd.Index, name: str) -> pd.Series:
    block_type, placement, manager, frame_init, series_type, _ = route
    block = block_type(values, placement(slice(0, len(values))), 1)
    built = object.__new__(series_type)
    frame_init(built, manager(block, index))
    object.__setattr__(built, "_name", name)  # what the `name` setter stores once checked
    made: pd.Series = built
    return made


def _internal_route(pd: Any) -> Any:
    """The pieces `_assembled` puts together, if this pandas has them and they build what the
    public constructor builds, else False."""
    try:
        from pandas._libs.internals import BlockPlacement  # type: ignore[import-not-found]
        from pandas.core.generic import NDFrame
        from pandas.core.internals import SingleBlockManager  # type: ignore[import-not-found]
        from pandas.core.internals.blocks import NumpyBlock  # type: ignore[import-not-found]

        view = pd.Index._view  # `Index.view()` less its handling of another dtype
        route = (NumpyBlock, BlockPlacement, SingleBlockManager, NDFrame.__init__, pd.Series, view)
        values, index = np.array([0.25, 0.75]), pd.Index(["a", "b"], name="state")
        built = _assembled(route, values, index, "x")
        public = pd.Series(values, index=index, name="x", copy=False)
        pd.testing.assert_series_equal(built, public)
        same = np.shares_memory(built.to_numpy(), values) and built.index is index
        same = same and type(built._mgr.blocks[0]) is type(public._mgr.blocks[0])
        viewed = route[-1](index)
        pd.testing.assert_index_equal(viewed, index.view())
        same = same and viewed is not index
    except Exception:  # a pandas whose internals moved, or that builds another Series
        return False
    return route if same else False
