"""Batch tables read from disk: CSV and Parquet, in chunks, as `Frame`s.

CSV is read as text, every cell a string exactly as written (no NA guessing: "NA" stays "NA"),
UTF-8 with or without a byte-order mark, `-` meaning stdin. A blank line is a row whose cells
are all empty. Parquet keeps its column types and is read row group by row group.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from syncdx.batch import _formats as formats
from syncdx.batch._arrow import READ_BYTES, read_csv
from syncdx.batch._csvscan import RecordScanner, ScannedStream
from syncdx.batch._formats import check_columns, label, table_format
from syncdx.batch._frames import ArrowFrame, Frame, Output, PandasFrame
from syncdx.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from pandas._typing import ReadCsvBuffer
    from pandas.io.parsers import TextFileReader

#: The longest CSV field the line-locating paths accept (pyarrow and pandas have no limit).
FIELD_SIZE_LIMIT = 2**31 - 1
#: The longest CSV record read (a longer one is an error naming its line): Arrow's limit.
RECORD_LIMIT = FIELD_SIZE_LIMIT


def _no_line(record: int) -> int | None:
    return None


@dataclass(frozen=True, slots=True)
class Chunks:
    """An open input table: its columns, its row count where known, its chunks, and `locate`,
    the line on which a data record (1-based) starts (None where lines mean nothing)."""

    columns: tuple[str, ...]
    total: int | None
    frames: Iterator[Frame[Output]]  # Arrow tables, or DataFrames without pyarrow
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
        if formats.pyarrow_or_none() is None:
            frames: Iterator[Frame[Output]] = _csv_frames(stream, header, chunk_size)
        else:
            frames = _arrow_frames(stream, header, chunk_size)
        padded = formats.pyarrow_or_none() is None  # pandas pads a short record with empty cells
        yield Chunks(header, None, _all_records(frames, scanner, padded), scanner.line_of)


def _open_binary(path: str) -> io.BufferedReader:
    """`path` (or stdin) opened for reading bytes, buffered so that lines can be peeked at."""
    try:
        handle = sys.stdin.buffer if path == formats.STDIO else open(path, "rb")  # noqa: SIM115
    except OSError as error:
        raise InputError(f"cannot open: {error.strerror}", file=label(path)) from None
    if isinstance(handle, io.BufferedReader):
        return handle
    return io.BufferedReader(cast(io.RawIOBase, handle))  # a stdin that is not one (a test's)


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


def _arrow_frames(
    stream: ScannedStream, header: tuple[str, ...], chunk_size: int
) -> Iterator[ArrowFrame]:
    """Arrow tables of text from `stream` (see `_arrow.read_csv`)."""
    pa = formats.require_pyarrow("fast CSV input")
    try:
        for table in read_csv(_blocks(stream), header, chunk_size):
            yield ArrowFrame(table)
    except pa.ArrowInvalid as error:
        raise _refused(stream.scanner, str(error)) from None


def _blocks(stream: ScannedStream) -> Iterator[bytes]:
    """Whole records from `stream`, about `READ_BYTES` at a time, to the end."""
    while block := stream.read(READ_BYTES):
        yield block


def _csv_frames(
    stream: ScannedStream, header: tuple[str, ...], chunk_size: int
) -> Iterator[PandasFrame]:
    """DataFrames of text (pandas, without pyarrow): blank lines, and the missing fields of a
    short record, are empty cells."""
    import pandas as pd

    text = cast("ReadCsvBuffer[str]", _Text(stream))  # what pandas uses of it: `read`
    start = 0
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
            yield PandasFrame(frame)
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise _refused(stream.scanner, str(error).split("C error: ")[-1], padded=True) from None


def _next_quietly(reader: TextFileReader) -> pd.DataFrame | None:
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


def _all_records(
    frames: Iterator[Frame[Output]], scanner: RecordScanner, padded: bool
) -> Iterator[Frame[Output]]:
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
    if path == formats.STDIO:
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
    pa = formats.require_pyarrow("Parquet")
    pq = pa.parquet
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.lib.ArrowException) as error:
        raise InputError(f"unreadable Parquet file: {error}", file=label(path)) from None
    columns = tuple(file.schema_arrow.names)
    check_columns(columns, path)

    def frames() -> Iterator[ArrowFrame]:
        try:
            for batch in file.iter_batches(batch_size=chunk_size):
                yield ArrowFrame(pa.Table.from_batches([batch]))
        except (OSError, pa.lib.ArrowException) as error:
            raise InputError(f"unreadable Parquet data: {error}", file=label(path)) from None

    return Chunks(columns, file.metadata.num_rows, frames())
