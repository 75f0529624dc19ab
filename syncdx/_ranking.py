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
        return np.array(descending_row(values.tolist(), tie), dtype=np.intp)
    table = np.where(np.isnan(values), -np.inf, values) if np.isnan(values).any() else values
    order = np.argsort(-table, axis=1, kind="stable")  # exact ties: already in column order
    ordered = _along(table, order)
    joined = ordered[:, :-1] <= ordered[:, 1:] + tie  # in the next one's tie group (inf too)
    rows = np.flatnonzero((joined & (ordered[:, :-1] != ordered[:, 1:])).any(axis=1))
    if rows.size:  # rows with ties that are not exact: each tie group put in column order
        group = np.zeros((len(rows), order.shape[1]), dtype=np.intp)
        group[:, 1:] = (~joined[rows]).cumsum(axis=1)
        tied = order[rows]
        order[rows] = _along(tied, np.argsort(group * order.shape[1] + tied, axis=1))
    return order


def best(
    values: npt.NDArray[np.float64], tie: float | npt.NDArray[np.float64] = TIE
) -> npt.NDArray[np.intp]:
    """The column of each row's largest value, the first column among ties; NaN never wins.

    `tie` is a width, or one per row ((rows, 1), as `relative_tie` gives for scores whose scale
    varies from row to row).
    """
    table = np.nan_to_num(values, nan=-np.inf)
    top: npt.NDArray[np.intp] = np.argmax(table >= table.max(axis=1, keepdims=True) - tie, axis=1)
    return top


def relative_tie(values: npt.NDArray[np.float64], tie: float = TIE) -> npt.NDArray[np.float64]:
    """(rows, 1) tie widths: `tie` times each row's largest finite magnitude (0 if none).

    Probabilities are ranked with an absolute width: their rounding noise is absolute. Scores
    whose scale varies (an efficiency P / cost once P(not fixed yet) is 1e-9) need a relative
    one, or every score of a row would tie.
    """
    finite = np.where(np.isfinite(values), np.abs(values), 0.0)
    widths: npt.NDArray[np.float64] = tie * finite.max(axis=1, keepdims=True, initial=0.0)
    return widths


def _along(array: npt.NDArray[Any], index: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """`array` (rows, columns) indexed by `index` row by row."""
    return array[np.arange(len(array))[:, None], index]


def descending_row(values: list[float], tie: float = TIE) -> list[int]:
    """`descending` of one row given as a list, as a list of column indices."""
    clean = [v if v == v else -math.inf for v in values]  # NaN ranks last
    order = sorted(range(len(clean)), key=clean.__getitem__, reverse=True)
    ranked: list[int] = []
    group: list[int] = []
    last = math.inf
    for column in order:
        value = clean[column]
        if value + tie < last:  # not in the tie group of the one before
            ranked += sorted(group)
            group = []
        group.append(column)
        last = value
    return ranked + sorted(group)


def leading(values: npt.NDArray[np.float64], count: int, tie: float = TIE) -> npt.NDArray[np.intp]:
    """The first `count` columns of `descending(values)` for a 2-d `values` (rows, columns).

    The same columns, found by `count + 1` passes of argmax rather than a sort of every row
    (a stable argsort of each row was most of the ranking of a large batch). A row is sorted
    after all where a tie group might reach past its first `count` (the `count`-th and the next
    value are tied, or a tie there is not exact) or where one of those values is not finite.
    """
    rows, columns = values.shape
    count = min(count, columns)
    if count == 0 or count + 1 >= columns or not rows:
        return descending(values, tie)[:, :count]
    table = values.copy().ravel()
    start = np.arange(rows) * columns
    order = np.empty((count + 1, rows), dtype=np.intp)
    tops = np.empty((count + 1, rows))
    for k in range(count + 1):  # argmax gives the first of equal values: column order
        order[k] = np.argmax(table.reshape(rows, columns), axis=1)
        cells = start + order[k]
        tops[k] = table[cells]
        table[cells] = -np.inf
    joined = tops[:-1] <= tops[1:] + tie
    inexact = (joined[:-1] & (tops[:-2] != tops[1:-1])).any(axis=0)
    redo = np.flatnonzero(~np.isfinite(tops).all(axis=0) | inexact | joined[-1])
    first = order[:count].T.copy()
    if redo.size:
        first[redo] = descending(values[redo], tie)[:, :count]
    return first
