"""CSV text built with Arrow compute kernels: quoted text, numbers (see `_numbers`), lines.

Byte for byte what `pyarrow.csv.CSVWriter` writes for the same table (text quoted, numbers
unquoted in shortest round-trip form, empty cells empty), or, asked for a precision, floats in
fixed decimals. Rows are turned into text `TEXT_ROWS` at a time, pieces made on two threads
(`_parallel`). Score columns come as NumPy arrays (`score_lines`): float runs go straight to
`_numbers`, never through Arrow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from syncdx.batch._numbers import Precision, fixed_run, number_run, number_text
from syncdx.batch._parallel import both, ordered

if TYPE_CHECKING:
    import pyarrow as pa

#: Most rows turned into CSV text at once (Arrow string offsets are 32-bit; the kernels'
#: intermediates, and so the memory they take, grow with it).
TEXT_ROWS = 1 << 13
_QUOTE = b'"'


def plain_csv(table: pa.Table) -> bool:
    """Whether `plain_csv_bytes` writes `table`: every column text or floating point."""
    import pyarrow as pa

    return all(t == pa.string() or pa.types.is_floating(t) for t in table.schema.types)


def plain_csv_bytes(table: pa.Table, precision: Precision) -> Iterator[memoryview]:
    """The CSV lines of a `plain_csv` table (no header), in pieces: text quoted, numbers with
    `precision` decimals (see `_numbers`), empty cells empty."""
    import pyarrow.compute as pc

    def piece(start: int) -> memoryview:
        parts = cell_text(table.slice(start, TEXT_ROWS), precision)
        return value_bytes(pc.binary_join_element_wise(joined(parts), "\n", ""))

    yield from ordered(piece, range(0, table.num_rows, TEXT_ROWS))


def csv_header(names: list[str]) -> bytes:
    """The header line `CSVWriter` writes: every name quoted."""
    return (",".join('"' + n.replace('"', '""') + '"' for n in names) + "\n").encode()


def cell_text(table: pa.Table, precision: Precision) -> list[pa.Array]:
    """Each column of `table` as CSV cell text, consecutive text columns (and consecutive
    float columns) already joined."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells: list[pa.Array] = []
    run: list[pa.Array] = []  # consecutive columns of one kind, joined when the kind changes
    kind = ""
    for column in table.columns:
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        text = column.type == pa.string() and column.null_count == 0
        this = "text" if text else "float" if pa.types.is_floating(column.type) else ""
        if run and this != kind:
            cells += [_quoted_run(run)] if kind == "text" else number_run(run, precision)
            run = []
        kind = this
        if this:
            run.append(_escaped(column) if text else column)
        elif column.type == pa.string():
            cells.append(pc.fill_null(_quoted_run([_escaped(column)]), ""))
        else:
            cells.append(pc.fill_null(number_text(column, precision), ""))
    if run:
        cells += [_quoted_run(run)] if kind == "text" else number_run(run, precision)
    return cells


def line_text(table: pa.Table, tail: pa.Array, precision: Precision) -> pa.Array:
    """Each row of `table` as CSV cells, a comma, then that row's `tail` (its line's end).

    Text that holds no null (CSV input) is quoted in the join that ends the line, not in a
    pass of its own."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in table.columns]
    if columns and all(c.type == pa.string() and c.null_count == 0 for c in columns):
        inner = pc.binary_join_element_wise(*(_escaped(c) for c in columns), '","')
        return pc.binary_join_element_wise('"', inner, '",', tail, "")
    return joined([*cell_text(table, precision), tail])


def _escaped(column: pa.Array) -> pa.Array:
    """Text with its quotes doubled."""
    import pyarrow.compute as pc

    if _has_quote(column):
        return pc.replace_substring(column, '"', '""')
    return column


def _has_quote(column: pa.Array) -> bool:
    """Whether any value of a string array holds a double quote: one scan of the bytes of its
    values (a search per value, `match_substring`, took 20 times as long)."""
    if not len(column):
        return False
    _, offsets, data = column.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    start, stop = int(ends[0]), int(ends[-1])
    return data is not None and stop > start and _QUOTE in memoryview(data)[start:stop].tobytes()


def _quoted_run(columns: list[pa.Array]) -> pa.Array:
    """Text columns as quoted CSV cells, joined by commas into one column."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise('"', pc.binary_join_element_wise(*columns, '","'), '"', "")


def joined(parts: list[pa.Array]) -> pa.Array:
    """Columns of cell text joined by commas into one."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, ",") if len(parts) > 1 else parts[0]


def value_bytes(array: pa.Array) -> memoryview:
    """The bytes of a string array's values, back to back."""
    _, offsets, data = array.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    return memoryview(data)[int(ends[0]) : int(ends[-1])] if len(array) else memoryview(b"")


def score_lines(scores: dict[str, np.ndarray], precision: Precision) -> pa.Array:
    """Each row of the score columns (NumPy, None or NaN empty) as CSV cells followed by a line
    ending; many rows in two halves made side by side (see `_parallel`)."""
    import pyarrow as pa

    halves = score_line_halves(scores, precision)
    return halves[0] if len(halves) == 1 else pa.concat_arrays(halves)


def score_line_halves(scores: dict[str, np.ndarray], precision: Precision) -> list[pa.Array]:
    """`score_lines` in the pieces it is made in: one, or for many rows two made side by side,
    the first a whole number of `TEXT_ROWS` rows (so that no piece of `TEXT_ROWS` rows counted
    from the start straddles the two)."""
    rows = len(next(iter(scores.values()))) if scores else 0
    if rows < 2 * TEXT_ROWS:
        return [_score_lines(scores, precision)]
    half = max(1, round(rows / (2 * TEXT_ROWS))) * TEXT_ROWS  # about half
    first, second = both(
        lambda: _score_lines({n: c[:half] for n, c in scores.items()}, precision),
        lambda: _score_lines({n: c[half:] for n, c in scores.items()}, precision),
    )
    return [first, second]


def _score_lines(scores: dict[str, np.ndarray], precision: Precision) -> pa.Array:
    """`score_lines` in one piece: text as `cells` makes it; each run of float columns one
    NumPy matrix for `_numbers` (fixed decimals), or Arrow arrays for the round trip."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces: list[pa.Array] = []
    run: list[np.ndarray] = []
    texts: list[pa.Array] = []  # consecutive text columns, converted once

    def flush() -> None:
        if texts:
            pieces.extend(cell_text(pa.table({str(i): t for i, t in enumerate(texts)}), precision))
            texts.clear()
        if run:
            if precision is None:  # round trip: Arrow's text, as for any float column
                arrays = [pa.array(c, type=pa.float64(), from_pandas=True) for c in run]
                pieces.extend(number_run(arrays, precision))
            else:
                pieces.append(fixed_run(np.column_stack(run), precision))
            run.clear()

    for column in scores.values():
        if column.dtype == object:
            if run:
                flush()
            texts.append(pa.array(column, type=pa.string()))
        else:
            if texts:
                flush()
            run.append(column)
    flush()
    # the line ending joined to the last (narrow) column, not in a pass over whole lines
    pieces[-1] = pc.binary_join_element_wise(pieces[-1], "\n", "")
    return joined(pieces)
