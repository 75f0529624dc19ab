"""Arrow tables on the fast path: CSV read as text by pyarrow, scores kept factored, CSV bytes.

With pyarrow (the `parquet` extra) a CSV file is parsed by pyarrow's multithreaded reader, every
column as text (no NA guessing, blank lines kept as rows of empty cells), and evidence columns are
encoded from Arrow dictionaries. The scores of a chunk stay factored (`ScoredTable`): one row per
distinct outcome, taken per input row only when written. CSV output is built with Arrow compute
kernels, byte for byte what `pyarrow.csv.CSVWriter` writes for the same table (text quoted,
numbers unquoted in shortest round-trip form, empty cells empty), each distinct outcome's score
cells formatted once; or, asked for a precision, with floats in fixed decimals (`_numbers`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt

from syncdx.batch._csvtext import (
    TEXT_ROWS,
    line_text,
    score_line_halves,
    score_lines,
    value_bytes,
)
from syncdx.batch._numbers import ROUND_TRIP, Precision
from syncdx.batch._parallel import ordered
from syncdx.diagnosis import _evidence as ev
from syncdx.errors import InputError
from syncdx.network._network import Variable

if TYPE_CHECKING:
    # pyarrow has no annotations (mypy sees its names as Any): these names say what each value
    # is, and a checker with pyarrow stubs would check them.
    import pyarrow as pa

#: An Arrow column: one array, or several chunks of one.
Column: TypeAlias = "pa.Array | pa.ChunkedArray"

#: Bytes pyarrow parses at a time (it parses the pieces of a block in parallel).
BLOCK_BYTES = 1 << 18
#: Bytes of whole records read and parsed together.
READ_BYTES = 1 << 21
#: CSV score text is made per distinct outcome, then taken per row, when rows are at least
#: this many times the outcomes; otherwise the numbers are taken per row and made text once
#: per row. Making a row's text costs about 5 times taking it (17 causes), so the numbers are
#: gathered only where nearly every row is an outcome of its own.
REPEATED = 1.125


def encode_arrow(variable: Variable, column: Column, unknown: frozenset[str]) -> ev.CodeArray:
    """State codes of one Arrow column (any type; null means not observed), via its dictionary.

    Bytes (binary columns) are read as UTF-8 text; bytes that are not, and nested values
    (lists, structs, maps), are invalid answers: errors of their rows, as in a DataFrame;
    `unknown` are the model's "don't know" words."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    key = (variable.states, unknown)
    known = _SEEN.get(key)
    if known is not None and column.type == pa.string() and not column.null_count:
        found = pc.index_in(column, value_set=known[0])  # a lookup, not a hash table built
        if not found.null_count:  # every cell spelt as in an earlier column
            seen: ev.CodeArray = known[1][found.to_numpy()]
            return seen
    try:
        encoded = pc.dictionary_encode(column)
    except pa.ArrowNotImplementedError:  # nested values: every answer given is invalid
        codes: ev.CodeArray = np.where(column.is_null().to_numpy(False), ev.UNOBSERVED, ev.INVALID)
        return codes.astype(np.int16)
    values = encoded.dictionary.to_pylist()
    lookup = ev.spellings(variable, unknown)
    table = np.empty(len(values) + 1, dtype=np.int16)
    table[-1] = ev.UNOBSERVED  # null cells
    for i, value in enumerate(values):
        text = ev.normalise(_decoded(value))
        table[i] = ev.UNOBSERVED if text is None else lookup.get(text, ev.INVALID)
    indices = encoded.indices
    if indices.null_count:  # never in CSV (read with no nulls); Parquet may have them
        indices = pc.fill_null(indices, len(values))
    codes = table[indices.to_numpy()]  # zero copy (np.asarray copies slowly)
    if encoded.dictionary.type == pa.string():
        _remember(key, encoded.dictionary, table[:-1])
    return codes


#: The text cells seen per (states, "don't know" words), and the code of each: a later column
#: whose cells are all among them is encoded by one `index_in` (half a `dictionary_encode`).
_SEEN: dict[tuple[tuple[str, ...], frozenset[str]], tuple[pa.Array, ev.CodeArray]] = {}
#: Most spellings remembered per key (free text in an answer column would grow it for nothing).
_SEEN_MOST = 64


def _remember(
    key: tuple[tuple[str, ...], frozenset[str]], texts: pa.Array, codes: ev.CodeArray
) -> None:
    """Add the cells `texts` (distinct) and their `codes` to what `_SEEN` holds for `key`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    old = _SEEN.get(key)
    if old is not None:
        new = pc.invert(pc.is_in(texts, value_set=old[0]))
        texts = pa.concat_arrays([old[0], texts.filter(new)])
        codes = np.concatenate([old[1], codes[new.to_numpy(zero_copy_only=False)]])
    if len(texts) <= _SEEN_MOST:
        _SEEN[key] = (texts, codes.copy())  # replaced whole: threads see one pair or the other


def _decoded(value: object) -> object:
    """`value`, bytes read as UTF-8 text (left as bytes, so invalid, if they are not)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def csv_text(table: pa.Table, file: str | None, before: int) -> pa.Table:
    """`table` ready for CSV: string views, large strings and bytes as plain text (bytes read
    as UTF-8).

    InputError naming `file` and the column for values CSV cannot hold: bytes that are not
    UTF-8 (their row given, counting `before` rows already written), nested values (lists,
    structs, maps), intervals."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if field.type == pa.string():
            continue
        if _binary(field.type) or _other_text(field.type):
            table = table.set_column(i, field.name, _utf8(table.column(i), field, file, before))
        elif not _text_castable(field.type):
            raise InputError(
                f"{field.type} values cannot be written as CSV; write Parquet instead",
                file=file,
                column=field.name,
            )
    return table


def _binary(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or pa.types.is_binary_view(kind)
    )


def _other_text(kind: pa.DataType) -> bool:
    """Text other than plain strings: string views and large strings."""
    import pyarrow as pa

    return bool(pa.types.is_string_view(kind) or pa.types.is_large_string(kind))


def _text_castable(kind: pa.DataType) -> bool:
    """Whether Arrow can write values of type `kind` as text."""
    import pyarrow as pa

    try:
        pa.array([], type=kind).cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return False
    return True


def _utf8(column: Column, field: pa.Field, file: str | None, before: int) -> Column:
    """`column` (bytes or a string view) as plain text; InputError at the first bytes that are
    not UTF-8."""
    import pyarrow as pa

    try:
        return column.cast(pa.string())
    except pa.ArrowInvalid:
        pass
    values = column.to_pylist()
    row = next(i for i, v in enumerate(values) if isinstance(_decoded(v), bytes))
    raise InputError(
        f"row {before + row + 1:,} holds bytes that are not UTF-8 text ({values[row]!r:.60}); "
        "CSV holds text: write Parquet instead",
        file=file,
        column=field.name,
    )


@dataclass(frozen=True, slots=True)
class ScoredTable:
    """Input rows (`inputs`, an Arrow table) and their scores, factored: row i of the output is
    `inputs` row i followed by row `rows[i]` of the `scores` columns (NumPy arrays, None or NaN
    empty). The scores become Arrow only for a table (Parquet); CSV text is made from NumPy."""

    inputs: pa.Table
    scores: dict[str, np.ndarray]
    rows: npt.NDArray[np.intp]

    @classmethod
    def build(
        cls, inputs: pa.Table, scores: dict[str, np.ndarray], rows: np.ndarray
    ) -> ScoredTable:
        """From the score columns as NumPy arrays (None or NaN: empty)."""
        return cls(inputs, scores, np.asarray(rows, dtype=np.intp))

    def __len__(self) -> int:
        return int(self.inputs.num_rows)

    def table(self) -> pa.Table:
        """The whole table: input columns, then score columns."""
        import pyarrow as pa

        taken = score_table(self.scores).take(pa.array(self.rows, type=pa.int64()))
        return pa.table(
            [*self.inputs.columns, *taken.columns],
            names=[*self.inputs.column_names, *taken.column_names],
        )

    def csv_ready(self) -> bool:
        """Whether `csv_bytes` can write this table (inputs all text: CSV in, or text Parquet)."""
        import pyarrow as pa

        return all(t == pa.string() for t in self.inputs.schema.types)

    def csv_bytes(self, precision: Precision = ROUND_TRIP) -> Iterator[memoryview]:
        """The CSV lines of the rows (no header), in pieces: as `CSVWriter` writes them for
        `ROUND_TRIP`, else numbers with `precision` decimals (see `_numbers.fixed_text`)."""
        tail = self._tails(precision)

        def piece(start: int) -> memoryview:
            stop = min(start + TEXT_ROWS, len(self))
            inputs = self.inputs.slice(start, stop - start)
            return value_bytes(line_text(inputs, tail(start, stop), precision))

        yield from ordered(piece, range(0, len(self), TEXT_ROWS))

    def _tails(self, precision: Precision) -> Callable[[int, int], pa.Array]:
        """The score text (cells and line ending) of rows start..stop-1: made once per
        distinct outcome and taken per row, or, when few rows repeat an outcome, made from
        the numbers gathered row by row (shorter than their text) and sliced."""
        import pyarrow.compute as pc

        scores, rows = self.scores, self.rows
        if len(rows) >= REPEATED * len(next(iter(scores.values()), rows)):
            lines = score_lines(scores, precision)
            return lambda start, stop: pc.take(lines, rows[start:stop])
        halves = score_line_halves(
            {name: column[rows] for name, column in scores.items()}, precision
        )
        size = len(halves[0])

        def sliced(start: int, stop: int) -> pa.Array:
            which = min(start // size, len(halves) - 1)  # a piece never straddles the halves
            return halves[which].slice(start - which * size, stop - start)

        return sliced


def score_table(scores: dict[str, np.ndarray]) -> pa.Table:
    """Score columns (NumPy, None or NaN empty) as an Arrow table: text or float64."""
    import pyarrow as pa

    return pa.table(
        {
            name: pa.array(column, type=pa.string())
            if column.dtype == object
            else pa.array(column, type=pa.float64(), from_pandas=True)
            for name, column in scores.items()
        }
    )


def read_csv(
    blocks: Iterator[bytes], header: tuple[str, ...], chunk_size: int
) -> Iterator[pa.Table]:
    """Arrow tables of `chunk_size` rows (the last shorter) from `blocks` of whole records.

    Each block is parsed on its own, in the calling thread: pyarrow never calls back into
    Python from a thread of its own. The blocks of the first table are parsed in parallel by
    pyarrow, in pieces of `BLOCK_BYTES` (nothing else runs yet); later ones on one thread
    (they are read while a table is scored, which keeps the cores busy, and a parallel parse
    took half as much CPU time again)."""
    import pyarrow as pa

    schema = pa.schema([(name, pa.string()) for name in header])
    first = [True]

    def batches() -> Iterator[pa.RecordBatch]:
        for block in blocks:
            yield from _parse(block, header, threads=first[0]).to_batches()

    for table in rechunk(batches(), schema, chunk_size):
        first[0] = False
        yield table


def _parse(block: bytes, header: tuple[str, ...], threads: bool = True) -> pa.Table:
    """The Arrow table of a block of whole CSV records, every column text (`threads`: parsed
    in parallel)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    def parse(block_size: int) -> pa.Table:
        return pcsv.read_csv(
            pa.py_buffer(block),
            read_options=pcsv.ReadOptions(
                column_names=list(header), block_size=block_size, use_threads=threads
            ),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        return parse(BLOCK_BYTES if threads else len(block) + 1)
    except pa.ArrowInvalid as error:  # a record longer than a piece: the block in one piece
        if "straddling" not in str(error):
            raise
        return parse(len(block) + 1)


def release_unused() -> None:
    """Hand the memory Arrow's allocator keeps for reuse back to the system (this thread's)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def rechunk(batches: Iterator[pa.RecordBatch], schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    """Arrow tables of `size` rows (the last shorter) from record batches of any size."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += len(batch)
        while count >= size:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, size)
            pending, count = table.slice(size).to_batches(), count - size
    if count:
        yield pa.Table.from_batches(pending, schema)
