"""Orderings of computed scores that do not depend on their last bits.

Two causes with the same exact posterior can differ in the last bits of their computed values,
and by how much depends on how rows were batched. Ranking them on raw floats (or on floats
rounded to a grid, which still splits a tie that straddles a grid line) would make a report's
`top_cause` depend on the rows around it. Here values closer than `TIE` to the next one in
descending order belong to one tie group, and a tie group is listed in column (model) order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

#: Scores closer than this are ties; far above rounding noise, far below any meaningful gap.
TIE = 1e-9


def descending(values: npt.NDArray[np.float64], tie: float = TIE) -> npt.NDArray[np.intp]:
    """Column indices of each row of `values` (rows, columns), largest first, ties in column order.

    NaN ranks last. A 1-d array is ranked as one row and gives a 1-d result.
    """
    if values.ndim == 1:  # one row (an interactive query): plain Python beats numpy's overheads
        return np.array(_descending_row(values.tolist(), tie), dtype=np.intp)
    table = np.where(np.isnan(values), -np.inf, values) if np.isnan(values).any() else values
    order = np.argsort(-table, axis=-1, kind="stable")
    ordered = _along(table, order)
    gap = ordered[..., :-1] > ordered[..., 1:] + tie  # infinite values tie with each other
    if gap.all():
        return order
    group = np.zeros_like(order)  # each tie group, in column order
    group[..., 1:] = gap.cumsum(axis=-1)
    return _along(order, np.argsort(group * order.shape[-1] + order, axis=-1))


def best(values: npt.NDArray[np.float64], tie: float = TIE) -> npt.NDArray[np.intp]:
    """The column of each row's largest value, the first column among ties; NaN never wins."""
    table = np.nan_to_num(values, nan=-np.inf)
    top: npt.NDArray[np.intp] = np.argmax(table >= table.max(axis=1, keepdims=True) - tie, axis=1)
    return top


def _along(array: npt.NDArray[Any], index: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """`array` indexed by `index` along its last axis, row by row."""
    return array[index] if array.ndim == 1 else array[np.arange(len(array))[:, None], index]


def _descending_row(values: list[float], tie: float) -> list[int]:
    """`descending` of one row, as a list of column indices."""
    clean = [-math.inf if math.isnan(v) else v for v in values]
    order = sorted(range(len(clean)), key=clean.__getitem__, reverse=True)
    ranked: list[int] = []
    group: list[int] = []
    for k, column in enumerate(order):
        if k and clean[order[k - 1]] > clean[column] + tie:
            ranked += sorted(group)
            group = []
        group.append(column)
    return ranked + sorted(group)
