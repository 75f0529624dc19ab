"""Batch tables on disk: CSV and Parquet read in chunks, and written atomically.

CSV is read as text, every cell a string exactly as written (no NA guessing: "NA" stays "NA"),
UTF-8 with or without a byte-order mark, `-` meaning stdin/stdout. A blank line is a row whose
cells are all empty. Parquet keeps its column types and is read row group by row group.

Output goes to a temporary file beside the destination, renamed into place only once complete,
so an interrupted run never leaves a truncated file where the output should be.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from syncdx.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

STDIO = "-"
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
_PANDAS_LINE = re.compile(r"line (\d+)")


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
        raise InputError(f"{purpose} needs pyarrow: pip install 'syncdx[parquet]'") from None
    return pyarrow


@dataclass(frozen=True, slots=True)
class Chunks:
    """An open input table: its columns, its row count where known, and its chunks."""

    columns: tuple[str, ...]
    total: int | None
    frames: Iterator[pd.DataFrame]


@contextlib.contextmanager
def read_table(path: str, chunk_size: int) -> Iterator[Chunks]:
    """Open `path` (CSV or Parquet) for reading in chunks of at most `chunk_size` rows."""
    if table_format(path) == "parquet":
        yield _read_parquet(path, chunk_size)
        return
    with _open_text(path) as handle:
        header = _read_header(handle, path)
        yield Chunks(header, None, _csv_frames(handle, header, path, chunk_size))


def _open_text(path: str) -> IO[str]:
    try:
        raw = sys.stdin.buffer if path == STDIO else open(path, "rb")  # noqa: SIM115
    except OSError as error:
        raise InputError(f"cannot open: {error.strerror}", file=label(path)) from None
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _read_header(handle: IO[str], path: str) -> tuple[str, ...]:
    try:
        header = tuple(next(csv.reader(handle), []))
    except UnicodeDecodeError as error:
        raise _not_utf8(error, path) from None
    except csv.Error as error:
        raise InputError(f"unreadable header: {error}", file=label(path), line=1) from None
    if not header:
        raise InputError("the file is empty: no header line", file=label(path), line=1)
    check_columns(header, path)
    return header


def check_columns(columns: tuple[str, ...], path: str | None) -> None:
    """InputError if a column name appears twice (`path` None: a frame, not a file)."""
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            if path is None:
                raise InputError("duplicate column", column=name)
            raise InputError("duplicate column", file=label(path), line=1, column=name)
        seen.add(name)


def _csv_frames(
    handle: IO[str], header: tuple[str, ...], path: str, chunk_size: int
) -> Iterator[pd.DataFrame]:
    import pandas as pd

    reader = pd.read_csv(
        handle,
        header=None,
        names=list(header),
        dtype=str,  # arrow-backed with pyarrow: no conversion when writing
        na_filter=False,
        skip_blank_lines=False,
        chunksize=chunk_size,
        engine="c",
    )
    start = 0
    try:
        for frame in reader:
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
    except UnicodeDecodeError as error:
        raise _not_utf8(error, path) from None
    except pd.errors.ParserError as error:
        raise _parser_error(error, path) from None


def _not_utf8(error: UnicodeDecodeError, path: str) -> InputError:
    """An InputError at the first line that is not valid UTF-8 (found again, from the start)."""
    message = f"not UTF-8 text ({error.reason}); save the file as UTF-8"
    if path == STDIO:
        return InputError(message, file=label(path))
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return InputError(message, file=label(path), line=number)
    return InputError(message, file=label(path))  # pragma: no cover - the error was found once


def _parser_error(error: Exception, path: str) -> InputError:
    """An InputError at the physical line pandas complains about (it counts records)."""
    found = _PANDAS_LINE.search(str(error))
    message = str(error).split("C error: ")[-1]
    if found is None:
        return InputError(message, file=label(path))
    record = int(found.group(1))
    line = physical_line(path, record)
    if line is None:
        return InputError(f"record {record}: {message}", file=label(path))
    return InputError(re.sub(r" in line \d+", "", message), file=label(path), line=line)


def physical_line(path: str, record: int) -> int | None:
    """The line (header = 1) on which data record `record` (1-based) starts; None for stdin."""
    if path == STDIO:
        return None
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        line = 1
        for count, _ in enumerate(reader):
            if count == record:
                return line
            line = reader.line_num + 1
    return None


def _read_parquet(path: str, chunk_size: int) -> Chunks:
    import pandas as pd

    pa = require_pyarrow("Parquet")
    pq = pa.parquet
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.lib.ArrowException) as error:
        raise InputError(f"unreadable Parquet file: {error}", file=label(path)) from None
    columns = tuple(file.schema_arrow.names)
    check_columns(columns, path)

    def frames() -> Iterator[pd.DataFrame]:
        start = 0
        try:
            for batch in file.iter_batches(batch_size=chunk_size):
                frame = batch.to_pandas(types_mapper=pd.ArrowDtype)
                frame.index = pd.RangeIndex(start, start + len(frame))
                start += len(frame)
                yield frame
        except (OSError, pa.lib.ArrowException) as error:
            raise InputError(f"unreadable Parquet data: {error}", file=label(path)) from None

    return Chunks(columns, file.metadata.num_rows, frames())


class TableWriter:
    """Writes frames with the same columns, one after the other, into a CSV or Parquet file.

    pyarrow writes both formats (CSV quoted where text, floats in shortest round-trip form);
    without pyarrow, CSV falls back to pandas (slower).
    """

    def __init__(self, handle: IO[bytes], fmt: str) -> None:
        self._handle, self._format = handle, fmt
        self._arrow = _pyarrow_or_none() if fmt == "csv" else require_pyarrow("Parquet output")
        self._writer: Any = None
        self._schema: Any = None
        self._rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of `frame`."""
        pa = self._arrow
        if pa is None:
            frame.to_csv(self._handle, index=False, header=self._rows == 0)
        else:
            if self._writer is None:
                self._open(arrow_schema(frame))
            table = pa.Table.from_pandas(frame, self._schema, preserve_index=False)
            self._writer.write_table(table)
        self._rows += len(frame)

    def _open(self, schema: Any) -> None:
        """Start the file with `schema` (the first frame's) for every frame."""
        pa = self._arrow
        kind = pa.csv.CSVWriter if self._format == "csv" else pa.parquet.ParquetWriter
        self._writer, self._schema = kind(self._handle, schema), schema

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
def write_table(path: str) -> Iterator[TableWriter]:
    """A writer for `path` that only replaces `path` once the block ends without error."""
    fmt = table_format(path)
    if path == STDIO:
        if fmt != "csv":  # pragma: no cover - `-` is always CSV
            raise InputError("only CSV can be written to stdout", file=label(path))
        writer = TableWriter(sys.stdout.buffer, fmt)
        yield writer
        writer.close()
        sys.stdout.buffer.flush()
        return
    with atomic_file(path) as handle:
        writer = TableWriter(handle, fmt)
        yield writer
        writer.close()


@contextlib.contextmanager
def atomic_file(path: str) -> Iterator[IO[bytes]]:
    """A binary file beside `path`, renamed to `path` on success and removed on failure."""
    target = Path(path)
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        )
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", file=label(path)) from None
    try:
        with handle:
            yield handle
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
