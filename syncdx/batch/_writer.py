"""Scored tables written to CSV or Parquet: a regular file replaced atomically once complete,
stdout, a device or a named pipe written in place as rows come."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from syncdx.batch import _formats as formats
from syncdx.batch._arrow import ScoredTable, csv_text
from syncdx.batch._atomic import atomic_file
from syncdx.batch._csvtext import csv_header, plain_csv, plain_csv_bytes
from syncdx.batch._frames import Output
from syncdx.batch._numbers import Precision, check_precision
from syncdx.batch._outfile import STDOUT, open_in_place, partial, stdout_buffer, writing
from syncdx.batch._outfile import target as output_target
from syncdx.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq


class TableWriter:
    """Writes frames with the same columns, one after the other, into a CSV or Parquet file.

    pyarrow writes both formats (CSV quoted where text; the floats of scored tables with
    `precision` decimals, see `_numbers`, other floats in shortest round-trip form); without
    pyarrow, CSV falls back to pandas (slower).
    """

    def __init__(
        self, handle: IO[bytes], fmt: str, name: str | None = None, precision: Precision = None
    ) -> None:
        """Write `fmt` ('csv' or 'parquet') to `handle`, CSV numbers with `precision` decimals
        (None: round trip); errors name the file `name`."""
        self._handle, self._format, self._name = handle, fmt, name
        self._precision = check_precision(precision)
        self._arrow = (
            formats.pyarrow_or_none() if fmt == "csv" else formats.require_pyarrow("Parquet output")
        )
        self._writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        self._frame_schema: pa.Schema | None = None
        self._rows = 0

    @property
    def rows(self) -> int:
        """Rows written so far."""
        return self._rows

    def write(self, frame: Output) -> None:
        """Append the rows of `frame`: a DataFrame, or a `_arrow.ScoredTable`."""
        with writing(self._name):
            self._write(frame)
        self._rows += len(frame)

    def _write(self, frame: Output) -> None:
        pa = self._arrow
        if isinstance(frame, ScoredTable):
            self._write_scored(frame)
        elif pa is None:
            # text quoted as pyarrow quotes it: pandas leaves a lone CR bare otherwise
            digits = None if self._precision is None else f"%.{self._precision}f"
            header = self._rows == 0
            frame.to_csv(
                self._handle,
                index=False,
                header=header,
                quoting=csv.QUOTE_NONNUMERIC,
                float_format=digits,
            )
        else:
            if self._frame_schema is None:  # the first frame's, for every frame
                self._frame_schema = arrow_schema(frame)
            table = pa.Table.from_pandas(frame, self._frame_schema, preserve_index=False)
            self._write_arrow(table.replace_schema_metadata(None))  # no pandas metadata

    def _write_scored(self, scored: ScoredTable) -> None:
        """Append a ScoredTable: CSV lines built by Arrow kernels, or through pyarrow's writers."""
        if self._format == "csv":
            inputs = csv_text(scored.inputs, self._name, self._rows)
            scored = ScoredTable(inputs, scored.scores, scored.rows)
        if self._format == "csv" and scored.csv_ready():
            if self._rows == 0:
                names = [*scored.inputs.column_names, *scored.scores]
                self._handle.write(csv_header(names))
            for piece in scored.csv_bytes(self._precision):
                self._handle.write(piece)
        else:
            self._write_arrow(scored.table())

    def _write_arrow(self, table: pa.Table) -> None:
        """Append an Arrow table through pyarrow's writer (opened with the first table's schema;
        for CSV, text-like columns as text, see `_arrow.csv_text`), or, for CSV of text and
        floats with a `precision`, as lines built by Arrow kernels (`_csvtext.plain_csv_bytes`)."""
        if self._format == "csv":
            table = csv_text(table, self._name, self._rows)
            if self._writer is None and self._precision is not None and plain_csv(table):
                if self._rows == 0:
                    self._handle.write(csv_header(table.column_names))
                for piece in plain_csv_bytes(table, self._precision):
                    self._handle.write(piece)
                return
        if self._writer is None:
            pa = formats.require_pyarrow("Parquet output")
            if self._format == "csv":
                self._writer = pa.csv.CSVWriter(self._handle, table.schema)
            else:
                self._writer = parquet_writer(self._handle, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file (the Parquet footer); the handle stays open."""
        if self._writer is not None:
            self._writer.close()


def parquet_writer(handle: IO[bytes], schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer for tables of `schema`: floating-point columns plainly encoded, the
    others dictionary encoded. Scores (probabilities, log P(e)) hardly ever repeat: a
    dictionary was built for each of their column chunks and abandoned, 40% of the time of
    writing a scored file, for a larger file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    repeating = [f.name for f in schema if not pa.types.is_floating(f.type)]
    return pq.ParquetWriter(handle, schema, use_dictionary=repeating)


def arrow_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow schema of `frame`, text (object) columns as strings even when all empty."""
    import pandas as pd

    pa = formats.require_pyarrow("Parquet output")
    fields = []
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.ArrowDtype):
            kind = dtype.pyarrow_dtype
        elif pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            kind = pa.string()
        else:
            kind = pa.from_numpy_dtype(dtype)
        fields.append(pa.field(str(name), kind))
    return pa.schema(fields)


@contextlib.contextmanager
def write_table(path: str, precision: Precision = None) -> Iterator[TableWriter]:
    """A writer for `path` (CSV numbers with `precision` decimals, None: round trip): a regular
    file (or a new one) is replaced only once the block ends without error; a device, named
    pipe or stdout is written in place, as rows come. A path that cannot be written (a
    directory, a link loop) is refused before the block runs."""
    fmt = formats.table_format(path)
    if path == formats.STDIO:
        with _in_place(stdout_buffer(), fmt, STDOUT, precision) as writer:
            yield writer
        return
    _, special = output_target(path)
    if special:
        handle = open_in_place(path)
        try:
            with _in_place(handle, fmt, path, precision) as writer:
                yield writer
        finally:
            with contextlib.suppress(OSError):  # what could not be written is said already
                handle.close()
        return
    with atomic_file(path) as handle:
        writer = TableWriter(handle, fmt, path, precision)
        yield writer
        with writing(path):
            writer.close()


@contextlib.contextmanager
def _in_place(
    handle: IO[bytes], fmt: str, name: str, precision: Precision
) -> Iterator[TableWriter]:
    """A writer straight into `handle`, which cannot be taken back: an error says how many
    rows it already has."""
    writer = TableWriter(handle, fmt, name, precision)
    try:
        yield writer
        with writing(name):
            writer.close()
            handle.flush()
    except InputError as error:
        with contextlib.suppress(OSError):
            handle.flush()
        partial(error, writer.rows, name)
        raise
