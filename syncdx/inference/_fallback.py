"""Rows out of a double's range, decided again on two fallback trees.

A row whose clique totals left double precision's range (see `_engine`'s notes on extreme
tables) is decided on the "support" tree, whose tables keep only the zeros (each column spread
evenly over its non-zero entries: P(e) > 0 there exactly where it is in the model, with no tiny
products), then, if possible, on the "extended" tree, whose tables are in `numpy.longdouble`.
This module holds those trees' tables and the merge of their answers into a run's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt

from syncdx.network._network import FloatArray

Kind = Literal["support", "extended"]
Key = TypeVar("Key", bound=Hashable)
Rows = npt.NDArray[np.intp]


def fallback_table(kind: Kind, cpt: FloatArray) -> FloatArray:
    """`cpt` as the `kind` fallback tree holds it."""
    if kind == "extended":
        return widen(cpt)
    support = (cpt > 0).astype(np.float64)
    return np.asarray(support / support.sum(axis=-1, keepdims=True))


def widen(array: FloatArray) -> FloatArray:
    """`array` in longdouble (typed as a double array: the engine's code runs in either)."""
    return cast(FloatArray, array.astype(np.longdouble))


def decided(
    log_z: FloatArray,
    values: Mapping[Key, FloatArray],
    rows: Rows,
    possible: npt.NDArray[np.bool_],
    exact: Callable[[Rows], tuple[FloatArray, Mapping[Key, FloatArray]]],
    *,
    every: bool,
) -> tuple[FloatArray, dict[Key, FloatArray]]:
    """Copies of a run's `log_z` and `values` (each (rows, columns)) with `rows` decided
    again: those the support tree found impossible (`possible` False) get -inf and NaN; the
    rest (all of `rows` if `every`: the support tree may have underflowed) take the answer
    `exact` gives for them, where an impossible row is -inf on both trees."""
    log_z = log_z.copy()
    values = {key: array.copy() for key, array in values.items()}
    log_z[rows[~possible]] = -np.inf
    for array in values.values():
        array[rows[~possible]] = np.nan
    check = rows if every else rows[possible]
    if check.size:
        exact_z, exact_values = exact(check)
        found = np.isin(check, rows[possible]) | np.isfinite(exact_z)
        log_z[check] = np.where(found, exact_z, -np.inf)  # back to doubles
        for key, array in values.items():
            array[check] = np.where(found[:, None], exact_values[key], np.nan)
    return log_z, values
