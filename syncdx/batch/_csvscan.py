"""CSV records found while the bytes stream past: counted, located, checked, cut whole.

The CSV readers (pyarrow's, pandas') say neither how many records they read nor on which line
a bad one starts, and pyarrow takes a quote left open at the end of the file as a field that
runs to the end: silently, a row instead of the many it swallowed. `RecordScanner` follows the
quoting of the bytes the reader is given (a quote opens a field only at its start, `""` inside
a quoted field is a quote, as both readers have it) and so knows, without reading anything
twice: where each record ends, the line on which each starts, its number of fields, a quote
left open at the end, and the first line that is not UTF-8. `ScannedStream` hands the reader
whole records only, so that a record longer than the reader's block is never cut in two.

Quotes are classified with NumPy by parity (every quote alternately opens and closes), which is
exact when each opening quote starts a field and each closing one ends it; a block where that
does not hold (a stray quote inside an unquoted field) is followed quote by quote instead.
"""

from __future__ import annotations

import bisect
import codecs
import io
from typing import IO, TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from syncdx.errors import InputError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

QUOTE, COMMA, LF, CR = 34, 44, 10, 13
#: Bytes after which a quote opens a field (start of a field or record; `""` is an escape).
_OPENERS = np.array([COMMA, LF, CR, QUOTE], dtype=np.uint8)
#: Bytes before which a quote closes a field (or the end of the data).
_CLOSERS = _OPENERS
#: Byte offsets within a block (or the data), ascending.
_Positions = npt.NDArray[np.intp]
#: One flag per position.
_Flags = npt.NDArray[np.bool_]


class RecordScanner:
    """Follows CSV data (after its header) fed in pieces: records, lines, fields, problems."""

    def __init__(self, width: int, header_lines: int, file: str, limit: int = 2**31 - 1) -> None:
        """`width` fields per record; the header took `header_lines` lines of `file`; a record
        longer than `limit` bytes is an error."""
        self.width, self.header_lines, self.file, self.limit = width, header_lines, file, limit
        self.offset = 0  # bytes scanned (the held-back byte excluded)
        self.lines = 0  # line endings scanned, inside quoted fields or not
        self.records = 0  # records complete (ended by a line ending, or by the end)
        self.end = 0  # offset just past the last record's line ending
        self.error: InputError | None = None  # the first problem that makes the data unreadable
        self.ragged: tuple[int, int] | None = None  # (record, fields) of the first wrong width
        self.long: tuple[int, int] | None = None  # the same, for the first with too many
        self.finished = False
        self._held = b""
        self._quoted = False  # inside a quoted field at `offset`
        self._open_line = 0  # line on which the last quoted field started
        self._prev = LF  # the byte before `offset`
        self._after_close = False  # `_prev` is a quote that closed a quoted field
        self._fields = 1  # fields so far in the record being read
        self._shift_at: list[int] = [1]  # records from which the line shift below applies
        self._shift: list[int] = [0]  # line endings inside quoted fields before the record
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def line_of(self, record: int) -> int:
        """The line on which data record `record` (1-based) starts."""
        shift = self._shift[bisect.bisect_right(self._shift_at, record) - 1]
        return self.header_lines + record + shift

    def feed(self, data: bytes) -> None:
        """Scan the next bytes (the last one is held back until the byte after it is known)."""
        self._check_utf8(data, final=False)
        block = self._held + data
        if len(block) > 1:
            self._scan(np.frombuffer(block, dtype=np.uint8), len(block) - 1, b"\r" in block)
            self._held = block[-1:]
        else:
            self._held = block
        if self.offset - self.end > self.limit:
            self._too_long(self.records + 1)

    def finish(self) -> None:
        """The end of the data: the held byte, the last record, a quote left open."""
        if self.finished:
            return
        self.finished = True
        self._check_utf8(b"", final=True)
        if self._held:
            self._scan(np.frombuffer(self._held, dtype=np.uint8), len(self._held))
        if self.offset > self.end and not self._quoted:  # (quoted: no record, an error)
            end = np.array([self.offset], dtype=np.int64)
            self._complete(end, end)
            self.records, self.end = self.records + 1, self.offset
        if self._quoted and self.error is None:
            self.error = InputError(
                "unterminated quote: the quoted field that opens here runs to the end of the "
                "file; close it with a double quote (a quote inside a quoted field is written "
                '"")',
                file=self.file,
                line=self._open_line,
            )

    def _check_utf8(self, data: bytes, final: bool) -> None:
        """Record the line of the first byte that is not UTF-8."""
        if self.error is not None:
            return
        if data.isascii() and not self._decoder.getstate()[0]:  # ASCII is UTF-8: no decoding
            return
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as problem:
            at = max(problem.start - pending, 0)
            before = self._held + data[:at]
            line = self.header_lines + 1 + self.lines + _line_ends_in(before)
            self.error = InputError(
                f"not UTF-8 text ({problem.reason}); save the file as UTF-8",
                file=self.file,
                line=line,
            )

    def _scan(self, block: np.ndarray, stop: int, cr: bool = True) -> None:
        """Scan `block[:stop]`; `block[stop]`, if any, is the byte after (a look-ahead); `cr`:
        whether the block may hold a CR (a search of the bytes is far faster than a pass)."""
        opens, closes, quoted, start = self._quotes(block, stop)
        line_ends = _line_ends(block, stop, cr)
        record_ends = line_ends[~_inside(line_ends, opens, closes, self._quoted)]
        self._count_fields(
            block, stop, record_ends, _quoted_spans(stop, opens, closes, self._quoted)
        )
        self._shift_lines(line_ends, record_ends)
        if start >= 0:
            self._open_line = self.header_lines + 1 + self.lines + _before(line_ends, start)
        self._quoted = quoted
        self._after_close = bool(len(closes)) and int(closes[-1]) == stop - 1
        self.lines += len(line_ends)
        if len(record_ends):
            self.end = self.offset + int(record_ends[-1]) + 1
        self._prev = int(block[stop - 1])
        self.offset += stop

    def _quotes(self, block: np.ndarray, stop: int) -> tuple[_Positions, _Positions, bool, int]:
        """Offsets of the quotes that open and that close a quoted field, whether `stop` is
        inside one, and the offset of the last quote that opened a field (-1: none here).

        A doubled quote inside a quoted field counts as a close and an open side by side."""
        quotes = np.flatnonzero(block[:stop] == QUOTE)
        closing = (np.arange(len(quotes)) % 2 == 1) ^ self._quoted
        opens, closes = quotes[~closing], quotes[closing]
        before = block[np.maximum(opens - 1, 0)]
        if len(opens) and opens[0] == 0:
            before[0] = self._prev if self._prev != QUOTE or self._after_close else 0
        after = block[np.minimum(closes + 1, len(block) - 1)]
        ends = closes + 1 >= len(block)
        if np.isin(before, _OPENERS).all() and (np.isin(after, _CLOSERS) | ends).all():
            starts = opens[before != QUOTE]
            start = int(starts[-1]) if len(starts) else -1
            return opens, closes, bool(self._quoted ^ (len(quotes) % 2 == 1)), start
        return self._quotes_one_by_one(block, quotes)

    def _quotes_one_by_one(
        self, block: np.ndarray, quotes: _Positions
    ) -> tuple[_Positions, _Positions, bool, int]:
        """`_quotes` for irregular quoting: a quote inside an unquoted field is text."""
        opens: list[int] = []
        closes: list[int] = []
        quoted, start = self._quoted, -1
        for position in quotes.tolist():
            before = int(block[position - 1]) if position else self._prev
            last = closes[-1] if closes else -1 if self._after_close else -2
            after_close = last == position - 1
            if quoted:
                closes.append(position)
                quoted = False
            elif before in (COMMA, LF, CR) or (before == QUOTE and after_close):
                opens.append(position)
                start = position if before != QUOTE else start
                quoted = True
        return _array(opens), _array(closes), quoted, start

    def _count_fields(
        self,
        block: np.ndarray,
        stop: int,
        record_ends: _Positions,
        spans: tuple[_Positions, _Positions],
    ) -> None:
        """Count the fields of the records that end in this block (commas outside the quoted
        `spans`, each wholly in one record); remember a wrong width."""
        commas = np.flatnonzero(block[:stop] == COMMA)
        per_record = np.diff(np.searchsorted(commas, record_ends), prepend=0, append=len(commas))
        starts, ends = spans
        quoted = np.searchsorted(commas, ends) - np.searchsorted(commas, starts, side="right")
        where = np.searchsorted(record_ends, starts)
        per_record -= np.bincount(where, quoted, len(record_ends) + 1).astype(np.int64)
        if len(record_ends):
            fields = per_record[:-1] + 1
            fields[0] += self._fields - 1
            before = block[np.maximum(record_ends - 1, 0)]
            before[record_ends == 0] = self._prev
            crlf = (block[record_ends] == LF) & (before == CR)
            self._complete(self.offset + record_ends, self.offset + record_ends - crlf, fields)
            self.records += len(record_ends)
            self._fields = int(per_record[-1]) + 1
        else:
            self._fields += int(per_record[-1])

    def _complete(
        self, ends: _Positions, content_ends: _Positions, fields: _Positions | None = None
    ) -> None:
        """Check the width of records ending at `ends` (offsets of their line endings)."""
        if fields is None:
            fields = np.array([self._fields])
        starts = np.concatenate([[self.end], ends[:-1] + 1])
        blank = content_ends - starts <= 0
        long_records = np.flatnonzero(content_ends - starts > self.limit)
        if len(long_records):
            self._too_long(self.records + int(long_records[0]) + 1)
        wrong = np.flatnonzero((fields != self.width) & ~blank)
        if len(wrong) and self.ragged is None:
            self.ragged = (self.records + int(wrong[0]) + 1, int(fields[wrong[0]]))
        long = np.flatnonzero(fields > self.width)
        if len(long) and self.long is None:
            self.long = (self.records + int(long[0]) + 1, int(fields[long[0]]))

    def _shift_lines(self, line_ends: _Positions, record_ends: _Positions) -> None:
        """Note the records after which a quoted line ending shifts lines from records."""
        through = self.lines + np.searchsorted(line_ends, record_ends, side="right")
        following = self.records - len(record_ends) + 2 + np.arange(len(record_ends))
        shift = through - (following - 1)
        changed = np.flatnonzero(np.diff(shift, prepend=self._shift[-1]) != 0)
        self._shift_at.extend(following[changed].tolist())
        self._shift.extend(shift[changed].tolist())

    def _too_long(self, record: int) -> None:
        """Note that data record `record` is longer than the limit."""
        if self.error is None:
            self.error = InputError(
                f"a record longer than {self.limit:,} bytes (the most a field may hold); "
                "is a quote left open?",
                file=self.file,
                line=self.line_of(record),
            )

    def problem(self, padded: bool = False) -> InputError | None:
        """The first problem in the data read so far: unreadable, or a record of the wrong
        width (with `padded`, for a reader that pads a short record: too many fields only)."""
        ragged = self.long if padded else self.ragged
        found = [] if self.error is None else [self.error]
        if ragged is not None:
            record, fields = ragged
            message = f"Expected {self.width} fields, saw {fields}"
            found.append(InputError(message, file=self.file, line=self.line_of(record)))
        return min(found, key=lambda error: error.line or 0, default=None)


def _line_ends(block: np.ndarray, stop: int, any_cr: bool = True) -> _Positions:
    """Offsets of line endings in `block[:stop]`: LF, and CR not followed by LF (`any_cr`:
    whether there may be a CR at all)."""
    lf = np.flatnonzero(block[:stop] == LF)
    if not any_cr:
        return lf
    cr = np.flatnonzero(block[:stop] == CR)
    following = block[np.minimum(cr + 1, len(block) - 1)]
    alone = cr[(cr + 1 >= len(block)) | (following != LF)]
    return np.sort(np.concatenate([lf, alone])) if len(alone) else lf


def _line_ends_in(data: bytes) -> int:
    """The number of line endings in `data`."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _array(offsets: list[int]) -> _Positions:
    return np.array(offsets, dtype=np.intp)


def _before(positions: _Positions, offset: int) -> int:
    return int(np.searchsorted(positions, offset))


def _inside(positions: _Positions, opens: _Positions, closes: _Positions, quoted: bool) -> _Flags:
    """Whether each of `positions` (no quote among them) is inside a quoted field."""
    opened = np.searchsorted(opens, positions) + int(quoted)
    return opened > np.searchsorted(closes, positions)


def _quoted_spans(
    stop: int, opens: _Positions, closes: _Positions, quoted: bool
) -> tuple[_Positions, _Positions]:
    """The quotes that open and close each quoted span of a block (-1 and `stop` where it
    opened before the block or closes after it)."""
    starts = np.concatenate([[-1], opens]) if quoted else opens
    ends = np.concatenate([closes, [stop]]) if len(starts) > len(closes) else closes
    return starts.astype(np.intp), ends.astype(np.intp)


class ScannedStream(io.RawIOBase):
    """A binary stream that scans what it reads and returns whole records only."""

    def __init__(self, source: IO[bytes], scanner: RecordScanner) -> None:
        """Read from `source`, until the end or the first problem `scanner` finds."""
        super().__init__()
        self._source, self.scanner = source, scanner
        self._pending = bytearray()
        self._given = 0  # offset of the first byte not yet returned
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """At least one whole record (or the rest of the data), about `size` bytes."""
        want = size if size is not None and size > 0 else 1 << 20
        while not self._eof and self.scanner.end <= self._given:
            data = self._source.read(want)
            if data:
                self.scanner.feed(data)
                self._pending += data
            else:
                self.scanner.finish()
            if not data or self.scanner.error is not None:  # what follows is not needed
                self._eof = True
        cut = len(self._pending) if self._eof else self.scanner.end - self._given
        piece = bytes(self._pending[:cut])
        del self._pending[:cut]
        self._given += cut
        return piece

    def readinto(
        self, buffer: WriteableBuffer
    ) -> int:  # pragma: no cover - `read` is what readers call
        raise io.UnsupportedOperation("readinto")
