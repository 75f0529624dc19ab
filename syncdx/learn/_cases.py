"""Resolved cases as arrays: the answers reported, and the truth found afterwards.

A case table has a column per observation (blank = not reported), and the truth as
`confirmed_cause` (one cause id, blank for none) and/or `cause_<id>` columns (1/0, also
yes/no, true/false, present/absent; blank = not known). Other columns are ignored, except
`fixed_by` (the action that fixed the case) and `tried` (actions tried before, separated by
`;`), read by `fit` for repair success rates.

Which causes a case says were present (`known_causes`): its `cause_<id>` cells where given; a
confirmed cause is present, and a case with a `confirmed_cause` column names the cause of the
case: the causes it does not name were absent (a blank: no cause was found; leave unresolved
cases out, or leave out the column). Without that column, blank cause cells are not known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis import _columns
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.errors import EvidenceError, InputError

if TYPE_CHECKING:
    import pandas as pd

CONFIRMED = "confirmed_cause"
_TRUE = frozenset({"1", "yes", "true", "present", "y", "1.0"})
_FALSE = frozenset({"0", "no", "false", "absent", "n", "0.0"})


def cause_column(cause: str) -> str:
    """The column holding whether `cause` was present in a case."""
    return f"cause_{cause}"


@dataclass(frozen=True, slots=True)
class Cases:
    """Answers and truth of N cases.

    `codes` (N, len(columns)): each observation column's state codes, -1 where blank.
    `present` (N, causes): 1 present, 0 absent, -1 not known (all -1 without cause columns).
    `confirmed` (N,): the confirmed cause's index, -1 when none was confirmed or not given.
    """

    codes: ev.CodeArray
    columns: tuple[int, ...]
    present: npt.NDArray[np.int8]
    confirmed: npt.NDArray[np.intp]
    has_causes: bool
    has_confirmed: bool

    def __len__(self) -> int:
        return len(self.codes)


def read_cases(diagnoser: Diagnoser, frame: pd.DataFrame) -> Cases:
    """The answers and truth of every row of `frame` (errors name the row and column)."""
    network = diagnoser.network
    observed = _columns.column_nodes([str(c) for c in frame.columns], diagnoser.observations)
    if not observed:
        raise _columns.no_columns(list(frame.columns), diagnoser.observations, "an observation")
    labels = {str(c): c for c in frame.columns}
    codes = np.full((len(frame), len(observed)), ev.UNOBSERVED, dtype=np.int16)
    for j, (name, node) in enumerate(observed.items()):
        codes[:, j] = _columns.encode_column(
            network.variable(node), frame[labels[name]], ev.words(network)
        )
        _check_codes(diagnoser, frame, labels[name], node, codes[:, j])
    present = np.full((len(frame), len(diagnoser.causes)), -1, dtype=np.int8)
    has_causes = False
    for k, cause in enumerate(diagnoser.causes):
        if cause_column(cause) in labels:
            present[:, k] = _flags(frame, labels[cause_column(cause)])
            has_causes = True
    confirmed = _confirmed(diagnoser, frame, labels.get(CONFIRMED))
    return Cases(
        codes,
        tuple(network.index[n] for n in observed.values()),
        present,
        confirmed,
        has_causes,
        CONFIRMED in labels,
    )


def _check_codes(
    diagnoser: Diagnoser, frame: pd.DataFrame, label: object, node: str, codes: ev.CodeArray
) -> None:
    bad = np.flatnonzero(codes == ev.INVALID)
    if bad.size:
        row = frame.index[bad[0]]
        value = frame[label].iloc[bad[0]]
        error = ev.describe_invalid(diagnoser.network, diagnoser.network.index[node], value)
        raise EvidenceError(f"row {row!r}, column {label!r}: {error}", node=node, value=value)


def _flags(frame: pd.DataFrame, label: object) -> npt.NDArray[np.int8]:
    """1/0/-1 (blank) from a cause column."""

    def flag(text: str) -> int:
        folded = text.casefold()
        return 1 if folded in _TRUE else 0 if folded in _FALSE else _BAD

    out = _per_value(frame[label], flag)
    _raise_at_first_bad(out, frame, label, "is not 1/0 (present or absent)", str(label))
    return out.astype(np.int8)


def _confirmed(diagnoser: Diagnoser, frame: pd.DataFrame, label: object) -> npt.NDArray[np.intp]:
    """Index of each row's confirmed cause (-1 for a blank, or with no such column)."""
    if label is None:
        return np.full(len(frame), -1, dtype=np.intp)
    index = {c: k for k, c in enumerate(diagnoser.causes)}
    out = _per_value(frame[label], lambda text: index.get(text, _BAD))
    causes = ", ".join(diagnoser.causes)
    _raise_at_first_bad(out, frame, label, f"is not a cause of the model (causes: {causes})")
    return out


#: What `_per_value`'s reader returns for a value it cannot read.
_BAD = -2


def _per_value(column: pd.Series, read: Callable[[str], int]) -> npt.NDArray[np.intp]:
    """`read` of each cell's normalised text (-1 for a blank), calling it once per distinct
    value (a Python loop over the rows took ~3 s per 10,000 cases of 17 cause columns)."""
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = [ev.normalise(value) for value in uniques]
    table = np.array([-1 if t is None else read(t) for t in texts] + [-1], dtype=np.intp)
    return np.asarray(table[codes], dtype=np.intp)  # the blank sentinel -1 picks the last


def _raise_at_first_bad(
    out: npt.NDArray[np.intp],
    frame: pd.DataFrame,
    label: object,
    what: str,
    column: str = CONFIRMED,
) -> None:
    """An `InputError` naming the first row whose value `_per_value` could not read."""
    bad = np.flatnonzero(out == _BAD)
    if bad.size:
        value = frame[label].iloc[bad[0]]
        raise InputError(f"row {frame.index[bad[0]]!r}: {value!r} {what}", column=column)


def known_causes(cases: Cases) -> npt.NDArray[np.int8]:
    """(N, causes) 1 present, 0 absent, -1 not known: the `cause_<id>` cells where given, the
    confirmed cause present and, with a `confirmed_cause` column, every other cause left blank
    absent (see the module docstring).

    Reading the causes a case does not name as unknown instead would make the data say only
    "present": each case confirming c adds log theta_c to the likelihood of c's prior and no
    case ever adds log(1 - theta_c), so EM would push every confirmed cause towards 1, held
    back only by its prior's weight (theta_c = (w theta0 + n_c) / (w + n_c)).
    """
    present = cases.present.copy()
    if not cases.has_confirmed:
        return present
    present[present < 0] = 0
    rows = np.flatnonzero(cases.confirmed >= 0)
    present[rows, cases.confirmed[rows]] = 1
    return present
