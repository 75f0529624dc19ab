"""Hostile batch input and output: no row lost with exit 0, no special file replaced, no hang."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import itertools
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import InputError, Model, cli, score_file
from syncdx.batch._csvscan import RecordScanner
from syncdx.batch._readers import physical_line
from tests.strategies import csv_texts, stray_quote_files


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


@pytest.fixture(params=["pyarrow", "pandas"])
def csv_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each CSV reading path: pyarrow's, and pandas' (the fallback without pyarrow)."""
    if request.param == "pandas":
        monkeypatch.setattr("syncdx.batch._formats.pyarrow_or_none", lambda: None)
    return str(request.param)


def lex(data: str) -> tuple[list[list[str]], list[int], int | None]:
    """Oracle, one character at a time: the records of CSV `data` (after a one-line header),
    the line each starts on, and the line where a quote left open at the end opened.

    A blank line is a record of no field."""
    records: list[list[str]] = []
    starts: list[int] = []
    fields: list[str] = []
    field, state, line, first, opened, i = "", "start", 2, 2, None, 0
    while i < len(data):
        c, size = data[i], 2 if data[i : i + 2] == "\r\n" else 1
        if state == "quoted" and data[i : i + 2] == '""':
            field, size = field + '"', 2
        elif state == "quoted":
            state, field = ("plain", field) if c == '"' else (state, field + data[i : i + size])
        elif c in "\r\n":  # a blank line: no field at all
            records.append([*fields, field] if fields or state != "start" else [])
            starts.append(first)
            fields, field, state, first = [], "", "start", line + 1
        elif c == ",":
            fields, field, state = [*fields, field], "", "start"
        elif c == '"' and state == "start":
            state, opened = "quoted", line
        else:
            field, state = field + c, "plain"
        line += c in "\r\n"
        i += size
    if state == "quoted":
        return records, starts, opened
    if fields or field or state != "start":
        records.append([*fields, field])
        starts.append(first)
    return records, starts, None


def test_oracle_reads_as_the_csv_module() -> None:
    """The test oracle itself: records as Python's csv module reads them."""
    data = 'a,"b\r\nc",d\r\n\n"x""y",z"q\r1,2'
    records, starts, opened = lex(data)
    assert records == [*list(csv.reader(io.StringIO(data, newline="")))[:1], [], *records[2:]]
    assert records[2:] == [['x"y', 'z"q'], ["1", "2"]]
    assert starts == [2, 4, 5, 6]
    assert opened is None
    assert lex('1,2\n3,"a\nb')[2] == 3


@settings(max_examples=300, deadline=None)
@given(csv_texts, st.integers(1, 3), st.lists(st.integers(0, 60), max_size=6))
def test_scanner_counts_and_locates_records_as_the_oracle(
    data: str, width: int, cuts: list[int]
) -> None:
    """Fed in any pieces, the scanner finds each record, its line, its width, an open quote."""
    records, starts, opened = lex(data)
    raw = data.encode()
    scanner = RecordScanner(width, 1, "in.csv")
    edges = sorted({min(c, len(raw)) for c in cuts} | {0, len(raw)})
    for start, stop in itertools.pairwise(edges):
        scanner.feed(raw[start:stop])
    scanner.finish()
    if opened is not None:
        assert scanner.error is not None
        assert scanner.error.line == opened
        return
    assert scanner.error is None
    assert scanner.records == len(records)
    assert [scanner.line_of(k + 1) for k in range(len(records))] == starts
    wrong = [k for k, r in enumerate(records) if len(r) != width and r]
    assert scanner.ragged == ((wrong[0] + 1, len(records[wrong[0]])) if wrong else None)


def test_scanner_finds_the_line_of_bytes_that_are_not_utf8() -> None:
    """The first byte that is not UTF-8 is located while reading, split across pieces or not."""
    scanner = RecordScanner(2, 1, "in.csv")
    for piece in [b'a,"x\ny"\nb,caf\xc3', b"\xa9\nc,\xff\n"]:
        scanner.feed(piece)
    scanner.finish()
    assert scanner.error is not None
    assert scanner.error.line == 5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stray_quote_files(), st.sampled_from(["pyarrow", "pandas"]))
def test_a_stray_quote_is_an_error_at_its_line_or_loses_no_row(
    sync: Model, body: str, reader: str
) -> None:
    """A quote anywhere: an InputError at the line the oracle names (an open quote's, or a
    record of the wrong width), or one output row per record, cells as the oracle reads them."""
    records, starts, opened = lex(body)
    least = 0 if reader == "pandas" else 3  # pandas pads a short record with empty cells
    wrong = [k for k, r in enumerate(records) if r and not least <= len(r) <= 3]
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        if reader == "pandas":
            patch.setattr("syncdx.batch._formats.pyarrow_or_none", lambda: None)
        src, dst = Path(folder) / "in.csv", Path(folder) / "out.csv"
        src.write_bytes(b"id,note,paused_banner\n" + body.encode())
        if opened is not None or wrong:
            line = starts[wrong[0]] if wrong else opened
            with pytest.raises(InputError, match=f"in\\.csv, line {line}: "):
                score_file(src, dst, model=sync, chunk_size=2)
            return
        summary = score_file(src, dst, model=sync, chunk_size=2)
        with open(dst, newline="", encoding="utf-8") as handle:
            out = [row[:3] for row in list(csv.reader(handle))[1:]]
    expected = [(r + [""] * 3)[:3] for r in records]
    assert summary.rows == len(records)
    assert out == expected


@settings(max_examples=60, deadline=None)
@given(stray_quote_files())
def test_physical_line_is_where_the_oracle_starts_each_record(body: str) -> None:
    """`physical_line` (how the Dask engine names a bad row's line) is the line on which the
    oracle starts each record, any line endings and quoted line breaks, and None past the end."""
    records, starts, opened = lex(body)
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "in.csv"
        src.write_bytes(b"id,note,paused_banner\n" + body.encode())
        if opened is not None:
            return
        lines = [physical_line(str(src), k + 1) for k in range(len(records) + 1)]
    assert lines == [*starts, None]


def unterminated(rows: int, at: int) -> bytes:
    """`rows` records of `id,paused_banner,note`; data record `at` opens a quote in its last
    column and never closes it."""
    lines = [b"id,paused_banner,note"]
    lines += [b"%d,yes,fine" % i for i in range(rows)]
    lines[at] = b'%d,yes,"he said hi' % (at - 1)
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("source", ["file", "stdin"])
@pytest.mark.parametrize("strict", [False, True])
def test_unterminated_quote_in_the_last_column_fails_at_its_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    csv_reader: str,
    source: str,
    strict: bool,
) -> None:
    """100,000 rows, a quote opened on line 99,001 and never closed: exit 4 naming that line,
    no output (it swallowed every later row with exit 0)."""
    data = unterminated(100_000, 99_000)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(data)
    if source == "stdin":
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    argv = ["score", str(src) if source == "file" else "-", "-o", str(dst)]
    assert cli.main(argv + ["--strict"] * strict, stdout=io.StringIO()) == 4
    assert "line 99001: unterminated quote" in capsys.readouterr().err
    assert not dst.exists()


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_records_longer_than_the_reader_block_are_read(
    sync: Model,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    csv_reader: str,
    source: str,
) -> None:
    """Records of 600 KB and 3 MB (past pyarrow's 256 KB block, which refused any record over
    about 512 KB as a "straddling object") are read whole, in order."""
    notes = ["x" * 600_000, "a\n" * 1_500_000, "short"]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(
        [["id", "note", "paused_banner"], *([str(i), n, "yes"] for i, n in enumerate(notes))]
    )
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(text.getvalue())
    if source == "stdin":
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(src.read_bytes())))
    summary = score_file(src if source == "file" else "-", dst, model=sync)
    out = pd.read_csv(dst, dtype=object, keep_default_na=False)
    assert summary.rows == 3
    assert list(out["note"]) == notes


def test_a_record_over_the_limit_names_its_line_and_the_limit(
    sync: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, csv_reader: str
) -> None:
    """A record longer than the most a field may hold is refused at its line, with the limit."""
    monkeypatch.setattr("syncdx.batch._readers.RECORD_LIMIT", 10_000)
    src = tmp_path / "in.csv"
    src.write_text('id,paused_banner\n1,yes\n2,"' + "y\n" * 20_000 + '"\n3,no\n')
    with pytest.raises(InputError, match=r"line 3: a record longer than 10,000 bytes"):
        score_file(src, tmp_path / "out.csv", model=sync)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_named(
    sync: Model, tmp_path: Path, encoding: str
) -> None:
    """UTF-16 without a BOM (NULs in the header) says the encoding is wrong, not that no column
    is named after an observation."""
    src = tmp_path / "in.csv"
    src.write_bytes("id,paused_banner\n1,yes\n".encode(encoding))
    with pytest.raises(InputError, match=r"in\.csv, line 1: .*not UTF-8 \(UTF-16\?\); save it"):
        score_file(src, tmp_path / "out.csv", model=sync)


def feed_fifo(path: Path, data: bytes, done: threading.Event) -> threading.Thread:
    """A thread that writes `data` into the named pipe `path` and closes it; should the reader
    still wait long after (reopening the pipe: the defect), it opens the pipe once more so that
    the test fails instead of hanging."""

    def write() -> None:
        with open(path, "wb") as pipe:
            pipe.write(data)
        if not done.wait(120):
            os.close(os.open(path, os.O_WRONLY))

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("data", "strict", "message"),
    [
        (b'id,paused_banner\n1,"a\nb"\n2,yes,extra\n', False, "line 4: Expected 2 fields, saw 3"),
        (b'id,paused_banner\n"1\n",yes\n2,perhaps\n', True, "line 4, column 'paused_banner'"),
        (b"id,paused_banner\n1,yes\n2,caf\xe9\n", False, r"line 3: not UTF-8"),
    ],
    ids=["ragged", "strict", "not-utf8"],
)
def test_a_named_pipe_with_a_bad_row_fails_at_its_line_without_reopening(
    sync: Model, tmp_path: Path, csv_reader: str, data: bytes, strict: bool, message: str
) -> None:
    """A named pipe is read once: a bad row is located while reading (reopening the pipe to
    find the line waited for ever for a second writer)."""
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    done = threading.Event()
    writer = feed_fifo(fifo, data, done)
    try:
        with pytest.raises(InputError, match=message):
            score_file(fifo, tmp_path / "out.csv", model=sync, strict=strict)
    finally:
        done.set()
        writer.join()


REPORTS = b"id,paused_banner\n" + b"".join(b"%d,yes\n" % i for i in range(500))


def test_output_through_a_link_to_a_named_pipe_streams_into_the_pipe(
    sync: Model, tmp_path: Path
) -> None:
    """`-o` a link to a named pipe: its reader gets every row, and the pipe stays a pipe."""
    src, fifo, link = tmp_path / "in.csv", tmp_path / "pipe", tmp_path / "out.csv"
    src.write_bytes(REPORTS)
    os.mkfifo(fifo)
    link.symlink_to(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    score_file(src, link, model=sync, chunk_size=64)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    reader.join(120)  # (only should the pipe never be written: fail instead of hanging)
    out = pd.read_csv(io.BytesIO(received[0]), dtype=object)
    assert list(out["id"]) == [str(i) for i in range(500)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv", "pipe"]


def test_output_through_a_link_to_a_device_keeps_the_device(sync: Model, tmp_path: Path) -> None:
    """`-o` a link to a character device (a copy of /dev/null) writes into it, replacing nothing."""
    src, null, link = tmp_path / "in.csv", tmp_path / "null", tmp_path / "out.csv"
    src.write_bytes(REPORTS)
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link.symlink_to(null)
    assert score_file(src, link, model=sync).rows == 500
    assert stat.S_ISCHR(null.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "null", "out.csv"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of `syncdx ARGV`, run in-process."""
    code = cli.main(argv, stdout=io.StringIO())
    return code, capsys.readouterr().err


def fail_when_scoring(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make scoring fail the test if it happens; returns the count of calls."""
    calls: list[int] = []
    monkeypatch.setattr("syncdx.batch._scorer.Scorer.scored", lambda *a: calls.append(1))
    return calls


@pytest.mark.parametrize("kind", ["directory", "loop", "link-to-directory"])
def test_an_output_that_cannot_be_a_file_is_refused_before_scoring(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    """`-o` a directory, a link to one or a link loop: one line, exit 4, nothing scored."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(REPORTS)
    if kind == "directory":
        dst.mkdir()
    elif kind == "loop":
        dst.symlink_to(tmp_path / "other.csv")
        (tmp_path / "other.csv").symlink_to(dst)
    else:
        (tmp_path / "folder").mkdir()
        dst.symlink_to(tmp_path / "folder")
    calls = fail_when_scoring(monkeypatch)
    code, err = run_cli(["score", str(src), "-o", str(dst)], capsys)
    assert code == 4
    reason = "a loop of symbolic links" if kind == "loop" else "a directory"
    assert (
        err == f"syncdx: error: {dst}: cannot write: {reason}; name a .csv or .parquet file\n"
        or (kind == "loop" and err == f"syncdx: error: {dst}: cannot write: {reason}\n")
    )
    assert calls == []


class Full(io.RawIOBase):
    """A new file on a full disk: writing more than a few bytes fails with `error`."""

    def __init__(self, name: str, error: int) -> None:
        super().__init__()
        self.name, self.error = name, error
        Path(name).write_bytes(b"")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if len(data) > 8:
            raise OSError(self.error, os.strerror(self.error))
        return len(data)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EFBIG, errno.EIO])
def test_a_full_disk_is_one_line_and_keeps_the_old_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
    error: int,
) -> None:
    """Disk full, file too big, I/O error while writing CSV or Parquet: exit 4 and one line;
    the previous output is intact and no temporary file is left."""
    src, dst = tmp_path / "in.csv", tmp_path / f"out{suffix}"
    src.write_bytes(REPORTS)
    dst.write_bytes(b"previous")

    def temporary(target: Path) -> Full:
        return Full(str(target.parent / f".{target.name}.part"), error)

    monkeypatch.setattr("syncdx.batch._atomic._temporary", temporary)
    code, err = run_cli(["score", str(src), "-o", str(dst)], capsys)
    assert code == 4
    assert err == f"syncdx: error: {dst}: cannot write: {os.strerror(error)}\n"
    assert dst.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", f"out{suffix}"]


def test_a_full_device_and_a_full_stdout_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writing to a full device (a copy of /dev/full), through `-o` or as stdout, is exit 4
    and one line; the device stays a device."""
    src, device, link = tmp_path / "in.csv", tmp_path / "full", tmp_path / "out.csv"
    src.write_bytes(REPORTS)
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    link.symlink_to(device)
    code, err = run_cli(["score", str(src), "-o", str(link)], capsys)
    assert (code, err) == (4, f"syncdx: error: {link}: cannot write: No space left on device\n")
    assert stat.S_ISCHR(device.stat().st_mode)
    full = open(device, "w")  # noqa: SIM115 - its close fails: the rows it still holds
    monkeypatch.setattr("sys.stdout", full)
    code, err = run_cli(["score", str(src)], capsys)
    monkeypatch.undo()
    with contextlib.suppress(OSError):
        full.close()
    assert code == 4
    assert err == "syncdx: error: <stdout>: cannot write: No space left on device\n"


@pytest.mark.parametrize("stdout", [None, "closed"])
def test_a_closed_stdout_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdout: str | None,
) -> None:
    """No stdout at all (`>&-`) or a closed one: exit 4 and one line, before any scoring."""
    src = tmp_path / "in.csv"
    src.write_bytes(REPORTS)
    closed = io.TextIOWrapper(io.BytesIO())
    closed.close()
    monkeypatch.setattr("sys.stdout", None if stdout is None else closed)
    calls = fail_when_scoring(monkeypatch)
    code, err = run_cli(["score", str(src)], capsys)
    assert code == 4
    assert err == "syncdx: error: <stdout>: stdout is closed; write to a file with -o FILE\n"
    assert calls == []


def test_ctrl_c_is_one_line_and_keeps_the_old_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while scoring: exit 130, one line, the old output intact, no temporary file."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(REPORTS)
    dst.write_bytes(b"previous")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("syncdx.batch._scorer.Scorer.scored", interrupt)
    code, err = run_cli(["score", str(src), "-o", str(dst)], capsys)
    assert (code, err) == (130, "syncdx: interrupted\n")
    assert dst.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
