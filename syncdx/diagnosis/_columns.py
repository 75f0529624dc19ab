"""Tables of answers: which columns name which nodes (as people type headers), and each
column's cells as state codes."""

from __future__ import annotations

import difflib
import functools
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis._evidence import (
    INVALID,
    UNOBSERVED,
    CodeArray,
    folded_name,
    normalise,
    spellings,
    words,
)
from syncdx.errors import InputError
from syncdx.inference._threads import share_out
from syncdx.network._network import Network, Variable

if TYPE_CHECKING:  # pandas is imported where tables are read, to keep `import syncdx` fast
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """A table of answers as state codes: one column per evidence node, in `columns` order."""

    codes: CodeArray
    columns: tuple[int, ...]
    names: tuple[str, ...]

    @property
    def invalid(self) -> npt.NDArray[np.bool_]:
        """Cells whose value is not a state of their node."""
        return np.asarray(self.codes == INVALID)


def encode_frame(network: Network, frame: pd.DataFrame) -> EncodedFrame:
    """Encode the columns of `frame` named after nodes (see `column_nodes`); other columns are
    ignored. Cells with a value that is not a state get the code INVALID (the caller reports
    them). The codes are column-major (each column's codes contiguous, as they are written
    and read). A large frame's columns are encoded on the engine's threads (pyarrow's lookup
    runs without the GIL)."""
    labels = {str(c): c for c in frame.columns}
    found = column_nodes(tuple(labels), network.ids())
    unknown = words(network)
    jobs = [(network.variable(node), frame[labels[name]]) for name, node in found.items()]
    codes = np.full((len(found), len(frame)), UNOBSERVED, dtype=np.int16)

    def encode(j: int) -> None:
        codes[j] = encode_column(*jobs[j], unknown)

    share_out(encode, len(jobs), len(frame) * len(jobs))
    return EncodedFrame(codes.T, tuple(network.index[n] for n in found.values()), tuple(found))


def check_column_names(
    columns: tuple[str, ...], *, file: str | None = None, line: int | None = None
) -> None:
    """InputError if a column name appears twice or two columns have no name; `file` and
    `line` say where the header is, for a table read from a file."""
    unnamed = [str(i + 1) for i, name in enumerate(columns) if name == ""]
    if len(unnamed) > 1:
        raise InputError(
            f"columns {', '.join(unnamed)} have no name (trailing commas in the header?); "
            "name them or remove them",
            file=file,
            line=line,
        )
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise InputError("duplicate column", file=file, line=line, column=name)
        seen.add(name)


def column_nodes(
    names: Sequence[str], nodes: Sequence[str], file: str | None = None
) -> dict[str, str]:
    """{column: node} for the column names that name a node, matched as people type headers
    (spaces around them and case ignored); an InputError if two columns name one node."""
    folded = {folded_name(node): node for node in nodes}
    found: dict[str, str] = {}
    for name in names:
        node_id = folded.get(folded_name(name))
        if node_id is None:
            continue
        twin = next((column for column, other in found.items() if other == node_id), None)
        if twin is not None:
            raise InputError(
                f"columns {twin!r} and {name!r} both name {node_id!r}; keep one",
                file=file,
                column=name,
            )
        found[name] = node_id
    return found


def no_columns(
    names: Sequence[object], nodes: Sequence[str], what: str, file: str | None = None
) -> InputError:
    """The error for a table none of whose columns `names` names one of `nodes` (`what` they
    are, e.g. "an observation"): close spellings and column names that are not text named."""
    text = [name for name in names if isinstance(name, str)]
    folded = {folded_name(node): node for node in nodes}
    close = [
        f"{name!r} for {folded[match[0]]!r}"
        for name in text
        if (match := difflib.get_close_matches(folded_name(name), folded, n=1, cutoff=0.8))
    ]
    hints = [f"close: {', '.join(close)}"] if close else []
    if len(text) < len(names):
        odd = next(name for name in names if not isinstance(name, str))
        hints.append(f"column names must be strings, got {reprlib.repr(odd)}")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return InputError(
        f"no column is named after {what} of the model{hint}; expected some of: "
        + ", ".join(nodes),
        file=file,
    )


def encode_column(variable: Variable, column: pd.Series, unknown: frozenset[str]) -> CodeArray:
    """State codes of one column, decoding each distinct value once (`unknown`: the "don't
    know" words). In a column of text held by pyarrow, the cells spelled exactly as a state,
    blank or missing are found by one hash lookup (`_exact`), the others decoded here."""
    exact = _exact(variable, column)
    if exact is None:
        return _decoded(variable, column, unknown)
    codes, rest = exact
    if rest.any():
        codes[rest] = _decoded(variable, column[rest], unknown)
    return codes


def _exact(variable: Variable, column: pd.Series) -> tuple[CodeArray, npt.NDArray[np.bool_]] | None:
    """For a column of pyarrow text (None: another kind), the codes of cells spelled exactly
    as a state (which always means that state), empty or missing, and which cells are
    spelled otherwise (their codes left to decode): pyarrow's `index_in` took half the time
    of `pd.factorize`, most of encoding a frame."""
    import pandas as pd

    dtype = column.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    import pyarrow.compute as pc

    value_set, table = _lookup(variable.states)
    found = pc.index_in(column.array.__arrow_array__(), value_set=value_set, skip_nulls=False)
    index = pc.fill_null(found, len(table) - 1).to_numpy()
    codes: CodeArray = table.take(index)
    return codes, codes == INVALID


@functools.lru_cache(maxsize=1024)
def _lookup(states: tuple[str, ...]) -> tuple[pa.Array, CodeArray]:
    """The value set `_exact` looks cells up in (the states, "" and None) and the code of
    each place in it, then of a cell not found (INVALID, to decode)."""
    import pyarrow as pa

    value_set = pa.array([*states, "", None], pa.string())
    table = np.array([*range(len(states)), UNOBSERVED, UNOBSERVED, INVALID], dtype=np.int16)
    table.setflags(write=False)
    return value_set, table


def _decoded(variable: Variable, column: pd.Series, unknown: frozenset[str]) -> CodeArray:
    """State codes of one column, decoding each distinct value once."""
    import pandas as pd

    try:
        keys, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): none of them is a state
        return np.array([_cell_code(variable, v, unknown) for v in column], dtype=np.int16)
    table = np.empty(len(uniques) + 1, dtype=np.int16)
    table[-1] = UNOBSERVED  # factorize marks missing values with -1
    lookup = spellings(variable, unknown)
    for i, value in enumerate(uniques):
        text = normalise(value)
        table[i] = UNOBSERVED if text is None else lookup.get(text, INVALID)
    return table[keys]


def _cell_code(variable: Variable, value: object, unknown: frozenset[str]) -> int:
    """The state code of one cell: INVALID for a value that cannot be a state (a list)."""
    try:
        hash(value)
    except TypeError:
        return INVALID
    text = normalise(value)
    return UNOBSERVED if text is None else spellings(variable, unknown).get(text, INVALID)
