"""Batch scoring: tables of symptom reports in, the same rows with their diagnoses out.

Every input column is kept, unchanged and in order; the scorer appends

- `p_<cause>` for every cause: P(cause present | the row's answers), in model order;
- `top_cause`, `top_probability`: the likeliest cause and its probability;
- `top_1` .. `top_K`: the K likeliest causes, most probable first (`top_1` is `top_cause`);
- `log_evidence`: log P(answers); very low values flag reports the model finds implausible;
- `next_question`, `next_question_gain` (optional): the most informative question still
  unanswered, and its expected information gain in bits;
- `undetermined` (optional, with `min_lift`): "yes" when the top cause's probability is less
  than `min_lift` above its prior (the answers hardly point anywhere), else "no";
- `error`: missing (None; an empty cell in CSV), or what is wrong with the row (then its
  probabilities are empty): `error.notna()` picks the bad rows.

Columns named after the model's observations are evidence (a blank cell means not observed;
names match whatever their case, and spaces, hyphens and underscores are alike: `Paused Banner`
is `paused_banner`; `near_misses` finds the columns that look like a misspelt observation);
every other column, causes included, is carried through untouched. Rows keep their place: a row
with a value that is not a state, or with answers that cannot all be true, is reported in
`error`, never dropped. Each distinct pattern of answers is inferred once.
"""

from __future__ import annotations

import difflib
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic

import numpy as np
import numpy.typing as npt

from syncdx._counts import count
from syncdx._ranking import leading
from syncdx.batch._formats import check_columns
from syncdx.batch._frames import (
    Frame,
    IntArray,
    ObjectArray,
    Out_co,
    Output,
    PandasFrame,
    Scores,
)
from syncdx.batch._patterns import Memo, Numbers, infer_patterns
from syncdx.diagnosis import _columns, _rows
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.errors import ImpossibleEvidenceError, InputError, InputWarning
from syncdx.network._network import FloatArray, Variable, cause_column, top_column

if TYPE_CHECKING:
    import pandas as pd


#: Top causes listed per row unless asked otherwise.
DEFAULT_TOP = 3
#: `syncdx score`'s default margin: a top cause less than this far above its prior is
#: "undetermined".
DEFAULT_MIN_LIFT = 0.05
#: How alike (difflib's ratio) a column name must be to an observation to be a near miss.
NEAR_MISS = 0.8
#: A chunk's new patterns are remembered while at least one row in this many is a repeat.
REPEATS = 64
#: Separates several problems in one row's `error`.
ERROR_SEPARATOR = " | "


@dataclass(frozen=True, slots=True)
class Scored(Generic[Out_co]):
    """One scored table, with what the streaming layer needs beyond the table itself.

    `frame` is a DataFrame for a DataFrame in, a `_arrow.ScoredTable` for an Arrow
    table in (see `_frames`). Per row: `top` is the likeliest cause (an index into the model's
    causes, -1 for a row with an error), `top_probability` its probability, `error` the row's
    error (None if none) and `culprit` the column at fault (None if none).
    """

    frame: Out_co
    top: IntArray
    top_probability: FloatArray
    error: ObjectArray
    culprit: ObjectArray
    undetermined: int = 0


@dataclass(frozen=True, slots=True)
class Factored:
    """Score columns kept factored: `scores` has one row per distinct outcome (a pattern of
    answers, or a row with a bad value), `rows` gives each input row's outcome."""

    scores: Scores
    rows: IntArray
    top: IntArray
    culprit: ObjectArray


class Scorer:
    """Scores tables of answers with one model; see the module docstring for the columns.

    A scorer remembers the answer patterns it has inferred (a bounded memo, see
    `_patterns`): reuse one for the chunks of a file. Threads may share one scorer.
    """

    def __init__(
        self,
        model: Diagnoser,
        *,
        top: int = DEFAULT_TOP,
        next_question: bool = False,
        min_lift: float | None = None,
    ):
        self.model, self.next_question = model, next_question
        self.top = min(count(top, "top"), len(model.causes))
        self.min_lift = _lift(min_lift)
        # P(cause present) with no answers, for the undetermined flag (only when asked for)
        self._prior = (
            np.asarray(model.posterior({}).reindex(model.causes).to_numpy(), float)
            if self.min_lift is not None
            else np.zeros(0)
        )
        self._names = np.asarray(model.causes, dtype=object)
        self._memo = Memo()  # distinct patterns already inferred, for these evidence columns:
        self._memo_columns: tuple[int, ...] = ()
        self._lock = threading.Lock()  # guards the memo; inference itself runs unlocked

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the scorer appends, in order."""
        asked = ("next_question", "next_question_gain") if self.next_question else ()
        return (
            *(cause_column(c) for c in self.model.causes),
            "top_cause",
            "top_probability",
            *(top_column(k) for k in range(1, self.top + 1)),
            "log_evidence",
            *asked,
            *(("undetermined",) if self.min_lift is not None else ()),
            "error",
        )

    def evidence_columns(self, columns: Sequence[str], file: str | None = None) -> dict[str, str]:
        """{column: observation} for the columns that hold answers, names matched as values
        are (spaces around ignored, any case); InputError if there are none, two columns name
        one observation, or a name is taken."""
        names = [str(c) for c in columns]
        check_columns(tuple(names), file)
        taken = sorted(set(names) & set(self.columns))
        if taken:
            raise InputError(
                f"the input already has the output column(s) {', '.join(taken)}; rename them",
                file=file,
                column=taken[0],
            )
        found = _observation_columns(names, self.model.observations, file)
        for column, observation in near_misses(names, self.model.observations).items():
            where = f" in {file}" if file else ""
            warnings.warn(
                f"column {column!r}{where} names no observation and is carried through "
                f"unscored; did you mean {observation!r}?",
                InputWarning,
                stacklevel=2,
            )
        return found

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with the score columns appended: same rows, same order, same index."""
        return self.scored(PandasFrame(frame)).frame

    def scored(self, frame: Frame[Out_co], file: str | None = None) -> Scored[Out_co]:
        """`score` for a `Frame` (an Arrow table's scores kept factored), with the per-row
        extras."""
        found = self.evidence_columns(frame.columns, file)
        factored = self._factored(frame, found)
        table = frame.with_scores(factored.scores, factored.rows, self.columns)
        rows = factored.rows
        probability = factored.scores["top_probability"][rows]
        flags = factored.scores.get("undetermined")
        undetermined = 0 if flags is None else int(np.count_nonzero(flags[rows] == "yes"))
        return Scored(
            table,
            factored.top,
            probability,
            factored.scores["error"][rows],
            factored.culprit,
            undetermined,
        )

    def _factored(self, frame: Frame[Output], found: dict[str, str]) -> Factored:
        """The score columns of each distinct outcome of `frame` (its evidence columns `found`:
        {column: observation}), and each row's outcome."""
        network = self.model.network
        names = list(found)
        variables = [network.variables[network.index[node]] for node in found.values()]
        unknown = ev.words(network)
        # column-major: the passes over each column (keys, likelihoods, checks) read it whole
        codes = np.empty((len(frame), len(names)), dtype=np.int16, order="F")
        for j, (variable, name) in enumerate(zip(variables, names)):
            codes[:, j] = frame.codes(variable, name, unknown)
        columns = tuple(network.index[node] for node in found.values())
        invalid = (codes == ev.INVALID).any(axis=1)
        unique, inverse, numbers = self._numbers(
            np.where(invalid[:, None], ev.UNOBSERVED, codes), columns
        )
        impossible_msg, impossible_col = self._conflicts(unique, found, numbers.log_evidence)
        errors, culprit = _invalid_messages(frame, names, variables, codes)
        scores, top = self._diagnose(numbers)
        scores["error"] = impossible_msg
        bad = np.flatnonzero(invalid)
        rows = inverse.astype(np.intp, copy=True)
        rows[bad] = len(unique) + np.arange(len(bad))
        impossible = np.isneginf(numbers.log_evidence[inverse[bad]])
        scores = {name: _append_empty(values, len(bad)) for name, values in scores.items()}
        scores["log_evidence"][len(unique) :][impossible] = -np.inf
        scores["error"][len(unique) :] = errors[bad]
        culprit = np.where(invalid, culprit, impossible_col[inverse])
        return Factored(scores, rows, np.where(invalid, -1, top[inverse]), culprit)

    # -- the numbers, once per distinct row ------------------------------------------------------
    def _numbers(
        self, codes: ev.CodeArray, columns: tuple[int, ...]
    ) -> tuple[ev.CodeArray, IntArray, Numbers]:
        """The distinct rows of `codes`, each row's distinct row, and their (memoised) numbers."""
        cards = self.model.network.cards
        rows = _rows.distinct_rows(codes, [cards[c] for c in columns])
        unique, inverse, distinct = rows.rows, rows.inverse, rows.keys
        if distinct is None:
            if not len(unique):  # one blank row to infer when there are no rows
                unique = np.full((1, codes.shape[1]), ev.UNOBSERVED, dtype=np.int16)
            return unique, inverse, self._infer(unique, columns)
        with self._lock:
            if columns != self._memo_columns:
                self._memo, self._memo_columns = Memo(), columns
            memo = self._memo
            known, found = memo.find(distinct)
        if known.all() and found is not None:
            return unique, inverse, found
        fresh = self._infer(unique[~known], columns)
        if _repeating(memo, len(codes), known):
            with self._lock:
                if memo is self._memo:
                    memo.remember(distinct[~known], fresh)
        if found is None or not known.any():  # the fresh numbers are every row's, in order
            return unique, inverse, fresh
        numbers = Numbers.empty(len(unique), len(self.model.causes))
        return unique, inverse, numbers.put(known, found).put(~known, fresh)

    def _infer(self, unique: ev.CodeArray, columns: tuple[int, ...]) -> Numbers:
        return infer_patterns(self.model, unique, columns, self.next_question)

    def _diagnose(self, numbers: Numbers) -> tuple[Scores, IntArray]:
        """The score columns of each distinct row, and the index of its top cause (-1: none)."""
        present, possible = numbers.present, numbers.possible
        order = leading(present, max(1, self.top))  # the top causes, near-ties in model order
        rows = np.arange(len(numbers))
        table: Scores = {cause_column(c): present[:, i] for i, c in enumerate(self._names)}
        table["top_cause"] = _masked(self._names[order[:, 0]], possible)
        table["top_probability"] = _masked(present[rows, order[:, 0]], possible)
        for k in range(self.top):
            table[top_column(k + 1)] = _masked(self._names[order[:, k]], possible)
        # summed in floating point, P(answers) can come out a few ulps above 1: never log P > 0
        table["log_evidence"] = np.minimum(numbers.log_evidence, 0.0)
        if self.next_question:
            questions = np.asarray([*self.model.observations, None], dtype=object)
            table["next_question"] = questions[numbers.question]  # -1: the trailing None
            table["next_question_gain"] = numbers.gain
        if self.min_lift is not None:
            lift = present[rows, order[:, 0]] - self._prior[order[:, 0]]
            flags = np.where(lift < self.min_lift, "yes", "no").astype(object)
            table["undetermined"] = _masked(flags, possible)
        return table, np.where(possible, order[:, 0], -1)

    def _conflicts(
        self, unique: ev.CodeArray, found: dict[str, str], log_evidence: FloatArray
    ) -> tuple[ObjectArray, ObjectArray]:
        """The error message and first conflicting column of each impossible distinct row."""
        messages = np.full(len(unique), None, dtype=object)
        columns = np.full(len(unique), None, dtype=object)
        column_of = {node: column for column, node in found.items()}
        for row in np.flatnonzero(~np.isfinite(log_evidence)):
            error = conflict(self.model, _findings(self.model, unique[row], list(found.values())))
            messages[row], columns[row] = str(error), column_of.get(str(error.node))
        return messages, columns


def _repeating(memo: Memo, rows: int, known: npt.NDArray[np.bool_]) -> bool:
    """Whether a chunk's new patterns are worth remembering: those of a file's first chunk
    (the memo is empty), then only while patterns come back, within the chunk (it has
    `rows` rows and `len(known)` distinct patterns) or from the memo (`known`): keeping the
    patterns of a file where none repeats cost a store and a sort for nothing."""
    again = rows - len(known) + int(np.count_nonzero(known))
    return not len(memo) or again * REPEATS >= rows


def _observation_columns(
    names: Sequence[str], observations: Sequence[str], file: str | None
) -> dict[str, str]:
    """{column: observation} for the columns of `names` that name an observation."""
    found = _columns.column_nodes(names, observations, file)
    if not found:
        raise _columns.no_columns(names, observations, "an observation", file)
    return found


def near_misses(names: Sequence[str], observations: Sequence[str]) -> dict[str, str]:
    """{column: observation} for columns that name no observation but look like one
    misspelt (difflib ratio >= NEAR_MISS on the compared spellings)."""
    folded = {ev.folded_name(o): o for o in observations}
    out = {}
    for name in names:
        key = ev.folded_name(str(name))
        if key in folded:
            continue
        close = difflib.get_close_matches(key, folded, n=1, cutoff=NEAR_MISS)
        if close:
            out[str(name)] = folded[close[0]]
    return out


def _lift(value: float | None) -> float | None:
    """`min_lift` checked: None, or a number in [0, 1]."""
    if value is None:
        return None
    if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"min_lift must be a probability margin in [0, 1], got {value!r}")
    return float(value)


def _append_empty(values: np.ndarray, count: int) -> np.ndarray:
    """`values` followed by `count` empty entries (None, or NaN for numbers)."""
    if not count:
        return values
    empty = np.full(count, None if values.dtype == object else np.nan, dtype=values.dtype)
    return np.concatenate([values, empty])


def _masked(values: np.ndarray, keep: npt.NDArray[np.bool_]) -> np.ndarray:
    """A copy of `values`, empty (None, or NaN for numbers) where `keep` is False."""
    out = values.copy()
    if out.dtype == object:
        out[~keep] = None
    else:
        out = out.astype(float)
        out[~keep] = np.nan
    return out


def conflict(model: Diagnoser, evidence: ev.Evidence) -> ImpossibleEvidenceError:
    """The error for impossible `evidence`, naming a smallest set of answers that conflict."""
    return model.impossible(evidence, None)  # the model's own search, over _conflict


def _findings(model: Diagnoser, codes: ev.CodeArray, nodes: Sequence[str]) -> dict[str, str]:
    """{observation: state} for the observed cells of one row of codes."""
    return {node: model.states(node)[int(code)] for node, code in zip(nodes, codes) if code >= 0}


def _invalid_messages(
    frame: Frame[Output], names: Sequence[str], variables: Sequence[Variable], codes: ev.CodeArray
) -> tuple[ObjectArray, ObjectArray]:
    """Per row: what is wrong with its values (joined), and the first column at fault."""
    messages = np.full(len(frame), "", dtype=object)
    culprit = np.full(len(frame), None, dtype=object)
    for j in np.flatnonzero((codes == ev.INVALID).any(axis=0)).tolist():
        rows = np.flatnonzero(codes[:, j] == ev.INVALID)
        keys, values = _factorize(frame.cells(names[j], rows))
        texts = np.array([_bad_cell(variables[j], names[j], v) for v in values], dtype=object)
        old: ObjectArray = messages[rows]
        messages[rows] = np.where(old == "", texts[keys], old + ERROR_SEPARATOR + texts[keys])
        first = culprit[rows] == None  # noqa: E711
        culprit[rows[first]] = names[j]
    return messages, culprit


def _factorize(cells: ObjectArray) -> tuple[IntArray, ObjectArray]:
    """`pd.factorize` of the cells; every cell its own value when some cannot be hashed."""
    import pandas as pd

    try:
        return pd.factorize(cells)
    except TypeError:  # a list in a cell
        return np.arange(len(cells)), cells


def _bad_cell(variable: Variable, name: str, value: object) -> str:
    return f"column {name!r}: {ev.value_problem(variable, value, named=False)}"


def score_frame(
    model: Diagnoser,
    frame: pd.DataFrame,
    *,
    top: int = DEFAULT_TOP,
    next_question: bool = False,
    min_lift: float | None = None,
) -> pd.DataFrame:
    """`frame` with the diagnosis columns appended (see the module docstring)."""
    return Scorer(model, top=top, next_question=next_question, min_lift=min_lift).score(frame)
