"""One view of a table to score, pandas or Arrow: its columns, its length, a column's answers.

The readers wrap what they read (`ArrowFrame`, or `PandasFrame` without pyarrow), `Scorer.score`
wraps a DataFrame; the scorer and the streaming layer see only a `Frame`. Scoring a frame gives
back its own kind (`Output`): a DataFrame for a DataFrame, a factored `ScoredTable` for an Arrow
table, which the writer tells apart by type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from syncdx.batch._arrow import ScoredTable, encode_arrow
from syncdx.diagnosis import _columns
from syncdx.diagnosis import _evidence as ev
from syncdx.network._network import Variable

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.intp]
#: Score columns, one row per distinct outcome: {column: values} (None or NaN: empty).
Scores = dict[str, np.ndarray]
#: A scored table: a DataFrame, or Arrow inputs with their scores kept factored.
Output: TypeAlias = "pd.DataFrame | ScoredTable"
Out_co = TypeVar("Out_co", bound="pd.DataFrame | ScoredTable", covariant=True)


class Frame(Protocol[Out_co]):
    """A table of answers to score, whichever library holds it."""

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in order."""
        ...

    def __len__(self) -> int: ...

    def codes(self, variable: Variable, name: str, unknown: frozenset[str]) -> ev.CodeArray:
        """The state codes of column `name` as answers for `variable` (`unknown`: the model's
        "don't know" words)."""
        ...

    def cells(self, name: str, rows: IntArray) -> ObjectArray:
        """The values of column `name` at `rows`, as Python objects (a list stays one cell)."""
        ...

    def to_pandas(self) -> pd.DataFrame:
        """The table as a DataFrame."""
        ...

    def with_scores(self, scores: Scores, rows: IntArray, columns: Sequence[str]) -> Out_co:
        """The table followed by the score `columns`: row i gets row `rows[i]` of `scores`."""
        ...


@dataclass(frozen=True, slots=True)
class PandasFrame:
    """A DataFrame seen as a `Frame`; scored, it stays a DataFrame (same index)."""

    data: pd.DataFrame

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data.columns)

    def __len__(self) -> int:
        return len(self.data)

    def codes(self, variable: Variable, name: str, unknown: frozenset[str]) -> ev.CodeArray:
        return _columns.encode_column(variable, self.data[name], unknown)

    def cells(self, name: str, rows: IntArray) -> ObjectArray:
        return np.asarray(self.data[name].to_numpy()[rows], dtype=object)

    def to_pandas(self) -> pd.DataFrame:
        return self.data

    def with_scores(self, scores: Scores, rows: IntArray, columns: Sequence[str]) -> pd.DataFrame:
        import pandas as pd

        frame = self.data
        out = {name: frame[name] for name in frame.columns}
        for name, values in scores.items():
            kind = object if name == "error" else None
            out[name] = pd.Series(values[rows], index=frame.index, dtype=kind, copy=False)
        return pd.DataFrame(out, index=frame.index, columns=[*frame.columns, *columns])


@dataclass(frozen=True, slots=True)
class ArrowFrame:
    """An Arrow table seen as a `Frame`; scored, it becomes a factored `ScoredTable`."""

    data: pa.Table

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data.column_names)

    def __len__(self) -> int:
        return int(self.data.num_rows)

    def codes(self, variable: Variable, name: str, unknown: frozenset[str]) -> ev.CodeArray:
        return encode_arrow(variable, self.data[name], unknown)

    def cells(self, name: str, rows: IntArray) -> ObjectArray:
        return np.fromiter(self.data[name].take(rows).to_pylist(), dtype=object)

    def to_pandas(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.data.to_pandas()
        return frame

    def with_scores(self, scores: Scores, rows: IntArray, columns: Sequence[str]) -> ScoredTable:
        return ScoredTable.build(self.data, scores, rows)
