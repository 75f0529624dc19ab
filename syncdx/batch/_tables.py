"""Batch tables on disk: CSV and Parquet read in chunks, and written atomically.

CSV is read as text, every cell a string exactly as written (no NA guessing: "NA" stays "NA"),
UTF-8 with or without a byte-order mark, `-` meaning stdin/stdout. A blank line is a row whose
cells are all empty. Parquet keeps its column types and is read row group by row group.

Output goes to a temporary file beside the destination, renamed into place only once complete,
so an interrupted run never leaves a truncated file where the output should be.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import stat
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from syncdx.batch._csvscan import RecordScanner, ScannedStream
from syncdx.batch._numbers import Precision, check_precision
from syncdx.batch._outfile import STDOUT, open_in_place, partial, stdout_buffer, writing
from syncdx.batch._outfile import target as output_target
from syncdx.diagnosis import _evidence as ev
from syncdx.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    import pandas as pd

STDIO = "-"
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: The longest CSV field the line-locating paths accept (pyarrow and pandas have no limit).
FIELD_SIZE_LIMIT = 2**31 - 1
#: The longest CSV record read (a longer one is an error naming its line): Arrow's limit.
RECORD_LIMIT = FIELD_SIZE_LIMIT


def label(path: str) -> str:
    """How messages name `path`: `<stdin>` (or stdout) for `-`."""
    return "<stdin>" if path == STDIO else path


def table_format(path: str) -> str:
    """'csv' or 'parquet', from the file name; `-` is CSV."""
    suffix = Path(path).suffix.lower()
    if path == STDIO or suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise InputError(
        f"unknown table format {suffix or '(no suffix)'!r}; expected .csv or .parquet",
        file=label(path),
    )


def require_pyarrow(purpose: str) -> Any:
    """The `pyarrow` module, or an InputError naming the extra that provides it."""
    try:
        import pyarrow
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError:  # pragma: no cover - pyarrow is installed in the test environment
        raise MissingExtraError(
            f"{purpose} needs pyarrow (a dependency of syncdx): pip install pyarrow"
        ) from None
    return pyarrow


def _no_line(record: int) -> int | None:
    return None


@dataclass(frozen=True, slots=True)
class Chunks:
    """An open input table: its columns, its row count where known, its chunks, and `locate`,
    the line on which a data record (1-based) starts (None where lines mean nothing)."""

    columns: tuple[str, ...]
    total: int | None
    frames: Iterator[Any]  # Arrow tables, or DataFrames without pyarrow
    locate: Callable[[int], int | None] = _no_line


@contextlib.contextmanager
def read_table(path: str, chunk_size: int) -> Iterator[Chunks]:
    """Open `path` (CSV or Parquet) for reading in chunks of at most `chunk_size` rows.

    Chunks are Arrow tables with pyarrow installed, DataFrames of text without it. CSV is read
    once, front to back (a pipe works as a file does); every record comes out as a row, or the
    reading stops with an InputError naming the line.
    """
    if table_format(path) == "parquet":
        yield _read_parquet(path, chunk_size)
        return
    with _open_binary(path) as handle:
        header, lines = _read_header(handle, path)
        scanner = RecordScanner(len(header), lines, label(path), RECORD_LIMIT)
        stream = ScannedStream(handle, scanner)
        if _pyarrow_or_none() is None:
            frames = _csv_frames(stream, header, chunk_size)
        else:
            frames = _arrow_frames(stream, header, chunk_size)
        padded = _pyarrow_or_none() is None  # pandas pads a short record with empty cells
        yield Chunks(header, None, _all_records(frames, scanner, padded), scanner.line_of)


def _open_binary(path: str) -> io.BufferedReader:
    """`path` (or stdin) opened for reading bytes, buffered so that lines can be peeked at."""
    try:
        handle: Any = sys.stdin.buffer if path == STDIO else open(path, "rb")  # noqa: SIM115
    except OSError as error:
        raise InputError(f"cannot open: {error.strerror}", file=label(path)) from None
    return handle if isinstance(handle, io.BufferedReader) else io.BufferedReader(handle)


def _read_header(handle: io.BufferedReader, path: str) -> tuple[tuple[str, ...], int]:
    """The first record of `handle` (which is left just past it), its names checked, and the
    number of lines it takes."""
    lines = _text_lines(handle, path)
    reader = csv.reader(lines, strict=True)
    try:
        with _unlimited_fields():
            header = tuple(next(reader, []))
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text ({error.reason}); save the file as UTF-8"
        raise InputError(message, file=label(path), line=reader.line_num + 1) from None
    except csv.Error as error:
        raise InputError(f"unreadable header: {error}", file=label(path), line=1) from None
    if not header:
        raise InputError("the file is empty: no header line", file=label(path), line=1)
    check_columns(header, path)
    return header, reader.line_num


def _text_lines(handle: io.BufferedReader, path: str) -> Iterator[str]:
    """The lines of `handle` as text (a byte-order mark dropped), read only as far as asked.

    A NUL byte is refused: UTF-8 text has none, UTF-16 (read as UTF-8) one in every two."""
    encoding = "utf-8-sig"
    while line := read_line(handle):
        if b"\x00" in line:
            raise InputError(
                "the header holds NUL bytes: the file is not UTF-8 (UTF-16?); save it as UTF-8",
                file=label(path),
                line=1,
            )
        yield line.decode(encoding)
        encoding = "utf-8"


def read_line(handle: io.BufferedReader) -> bytes:
    """The next line of `handle` with its ending: CR LF, LF or a lone CR (as CSV allows)."""
    line = b""
    while data := handle.peek(1):
        ends = [i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0]
        if not ends:
            line += handle.read(len(data))
            continue
        line += handle.read(min(ends) + 1)
        if line.endswith(b"\r") and handle.peek(1)[:1] == b"\n":
            line += handle.read(1)
        break
    return line


@contextlib.contextmanager
def _unlimited_fields() -> Iterator[None]:
    """The csv module without its field size limit (128 KiB by default) for the block."""
    previous = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def check_columns(columns: tuple[str, ...], path: str | None) -> None:
    """InputError if a column name appears twice or two are unnamed (`path` None: a frame)."""
    file = None if path is None else label(path)
    line = 1 if path is not None and table_format(path) == "csv" else None
    ev.check_column_names(columns, file=file, line=line)


def _arrow_frames(stream: ScannedStream, header: tuple[str, ...], chunk_size: int) -> Iterator[Any]:
    """Arrow tables of text from `stream` (see `_arrow.read_csv`)."""
    from syncdx.batch._arrow import read_csv

    pa = require_pyarrow("fast CSV input")
    try:
        yield from read_csv(_blocks(stream), header, chunk_size)
    except pa.ArrowInvalid as error:
        raise _refused(stream.scanner, str(error)) from None


def _blocks(stream: ScannedStream) -> Iterator[bytes]:
    """Whole records from `stream`, about `READ_BYTES` at a time, to the end."""
    from syncdx.batch._arrow import READ_BYTES

    while block := stream.read(READ_BYTES):
        yield block


def _csv_frames(
    stream: ScannedStream, header: tuple[str, ...], chunk_size: int
) -> Iterator[pd.DataFrame]:
    """DataFrames of text (pandas, without pyarrow): blank lines, and the missing fields of a
    short record, are empty cells."""
    import pandas as pd

    start, text = 0, cast(Any, _Text(stream))  # what pandas needs of it: `read`
    try:
        reader = pd.read_csv(
            text,
            header=None,
            names=list(header),
            index_col=False,  # a long first record must not turn a column into the index
            dtype=object,
            na_filter=False,
            skip_blank_lines=False,
            chunksize=chunk_size,
            engine="c",
        )
        while (frame := _next_quietly(reader)) is not None:
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise _refused(stream.scanner, str(error).split("C error: ")[-1], padded=True) from None


def _next_quietly(reader: Any) -> pd.DataFrame | None:
    """The next chunk pandas reads, None at the end; without the warning that a long first
    record lost fields: `_all_records` stops there with an error naming its line."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        return next(reader, None)


class _Text:
    """`stream` decoded from UTF-8, for pandas (which reads a file-like object of text)."""

    def __init__(self, stream: ScannedStream) -> None:
        self._stream, self._decoder = stream, codecs.getincrementaldecoder("utf-8")()

    def read(self, size: int = -1) -> str:
        data = self._stream.read(size)
        return str(self._decoder.decode(data, final=not data))

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - pandas reads, never iterates
        return iter(self.read().splitlines(keepends=True))


def _refused(scanner: RecordScanner, message: str, padded: bool = False) -> InputError:
    """The InputError for data a CSV reader refused with `message`, located by `scanner`
    (`padded`: the reader pads short records)."""
    problem = scanner.problem(padded)
    if problem is not None:
        return problem
    if "UTF8" in message or "utf-8" in message:  # pragma: no cover - the scanner sees it first
        return InputError("not UTF-8 text; save the file as UTF-8", file=scanner.file)
    return InputError(message, file=scanner.file)


def _all_records(frames: Iterator[Any], scanner: RecordScanner, padded: bool) -> Iterator[Any]:
    """`frames`, checked to hold one row per record read: a record lost is an error, and so
    is any problem `scanner` saw (`padded`: the reader pads short records)."""
    rows = 0
    for frame in frames:
        if (problem := scanner.problem(padded)) is not None:
            raise problem
        rows += len(frame)
        yield frame
    scanner.finish()
    if (problem := scanner.problem(padded)) is not None:
        raise problem
    if rows != scanner.records:
        raise InputError(
            f"the CSV reader gave {rows:,} rows for {scanner.records:,} records; "
            "the reading stopped (please report this file)",
            file=scanner.file,
        )


def physical_line(path: str, record: int) -> int | None:
    """The line (header = 1) on which data record `record` (1-based) starts, as the reader's
    `RecordScanner` counts them; None for stdin or past the end."""
    if path == STDIO:
        return None
    with _open_binary(path) as handle:
        header, lines = _read_header(handle, path)
        scanner = RecordScanner(len(header), lines, label(path), RECORD_LIMIT)
        while scanner.records < record and (data := handle.read(1 << 20)):
            scanner.feed(data)
        if scanner.records < record:
            scanner.finish()
        return scanner.line_of(record) if scanner.records >= record else None


def _read_parquet(path: str, chunk_size: int) -> Chunks:
    pa = require_pyarrow("Parquet")
    pq = pa.parquet
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.lib.ArrowException) as error:
        raise InputError(f"unreadable Parquet file: {error}", file=label(path)) from None
    columns = tuple(file.schema_arrow.names)
    check_columns(columns, path)

    def frames() -> Iterator[Any]:
        try:
            for batch in file.iter_batches(batch_size=chunk_size):
                yield pa.Table.from_batches([batch])
        except (OSError, pa.lib.ArrowException) as error:
            raise InputError(f"unreadable Parquet data: {error}", file=label(path)) from None

    return Chunks(columns, file.metadata.num_rows, frames())


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
        self._arrow = _pyarrow_or_none() if fmt == "csv" else require_pyarrow("Parquet output")
        self._writer: Any = None
        self._frame_schema: Any = None
        self._rows = 0

    @property
    def rows(self) -> int:
        """Rows written so far."""
        return self._rows

    def write(self, frame: Any) -> None:
        """Append the rows of `frame`: a DataFrame, or a `_arrow.ScoredTable`."""
        with writing(self._name):
            self._write(frame)
        self._rows += len(frame)

    def _write(self, frame: Any) -> None:
        pa = self._arrow
        if not hasattr(frame, "iloc"):
            self._write_scored(frame)
        elif pa is None:
            # text quoted as pyarrow quotes it: pandas leaves a lone CR bare otherwise
            quoting = csv.QUOTE_NONNUMERIC
            digits = None if self._precision is None else f"%.{self._precision}f"
            header = self._rows == 0
            frame.to_csv(
                self._handle, index=False, header=header, quoting=quoting, float_format=digits
            )
        else:
            if self._frame_schema is None:  # the first frame's, for every frame
                self._frame_schema = arrow_schema(frame)
            table = pa.Table.from_pandas(frame, self._frame_schema, preserve_index=False)
            self._write_arrow(table.replace_schema_metadata(None))  # no pandas metadata

    def _write_scored(self, scored: Any) -> None:
        """Append a ScoredTable: CSV lines built by Arrow kernels, or through pyarrow's writers."""
        from syncdx.batch._arrow import ScoredTable, csv_header, csv_text

        if self._format == "csv":
            inputs = csv_text(scored.inputs, self._name, self._rows)
            scored = ScoredTable(inputs, scored.scores, scored.rows)
        if self._format == "csv" and scored.csv_ready():
            if self._rows == 0:
                names = [*scored.inputs.column_names, *scored.scores.column_names]
                self._handle.write(csv_header(names))
            for piece in scored.csv_bytes(self._precision):
                self._handle.write(piece)
        else:
            self._write_arrow(scored.table())

    def _write_arrow(self, table: Any) -> None:
        """Append an Arrow table through pyarrow's writer (opened with the first table's schema;
        for CSV, text-like columns as text, see `_arrow.csv_text`), or, for CSV of text and
        floats with a `precision`, as lines built by Arrow kernels (`_arrow.plain_csv_bytes`)."""
        from syncdx.batch._arrow import csv_header, csv_text, plain_csv, plain_csv_bytes

        if self._format == "csv":
            table = csv_text(table, self._name, self._rows)
            if self._writer is None and self._precision is not None and plain_csv(table):
                if self._rows == 0:
                    self._handle.write(csv_header(table.column_names))
                for piece in plain_csv_bytes(table, self._precision):
                    self._handle.write(piece)
                return
        if self._writer is None:
            pa = self._arrow
            kind = pa.csv.CSVWriter if self._format == "csv" else pa.parquet.ParquetWriter
            self._writer = kind(self._handle, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file (the Parquet footer); the handle stays open."""
        if self._writer is not None:
            self._writer.close()


def arrow_schema(frame: pd.DataFrame) -> Any:
    """The Arrow schema of `frame`, text (object) columns as strings even when all empty."""
    import pandas as pd

    pa = require_pyarrow("Parquet output")
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


def _pyarrow_or_none() -> Any:
    try:
        return require_pyarrow("fast CSV output")
    except InputError:  # pragma: no cover - pyarrow is installed in the test environment
        return None


@contextlib.contextmanager
def write_table(path: str, precision: Precision = None) -> Iterator[TableWriter]:
    """A writer for `path` (CSV numbers with `precision` decimals, None: round trip): a regular
    file (or a new one) is replaced only once the block ends without error; a device, named
    pipe or stdout is written in place, as rows come. A path that cannot be written (a
    directory, a link loop) is refused before the block runs."""
    fmt = table_format(path)
    if path == STDIO:
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


@contextlib.contextmanager
def atomic_file(path: str) -> Iterator[IO[bytes]]:
    """A binary file beside `path`, renamed to `path` on success and removed on failure.

    A symbolic link is followed (its target is replaced, the link kept); a replaced file keeps
    its permission bits, a new one gets those the umask allows.
    """
    target = Path(path).resolve()
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    try:
        handle = _temporary(target)
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", file=label(path)) from None
    try:
        yield handle
        with writing(path):
            handle.close()
            os.chmod(handle.name, mode)
            os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):  # the disk is full: the error is said already
            handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise


def _temporary(target: Path) -> Any:
    """A new file beside `target`, to be renamed to it."""
    return tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )


def current_umask() -> int:
    """The process's umask (read by setting it, and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
