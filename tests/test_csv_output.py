"""CSV output of `syncdx score`: numbers in fixed decimals or round trip, rows in order through
the writer thread, writer errors surfacing cleanly; distinct rows found by lexsort."""

from __future__ import annotations

import errno
import io
import math
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import syncdx
from syncdx import InputError, Model, cli, score_file
from syncdx.batch import _arrow, _csvtext, _numbers, _writer
from syncdx.batch._numbers import MAX_PRECISION, check_precision, fixed_run, fixed_text
from syncdx.diagnosis._columns import encode_column
from syncdx.diagnosis._evidence import UNKNOWN_WORDS
from syncdx.diagnosis._rows import unique_rows

#: Answers as typed: states in any case and spacing, blanks, "don't know" words, other text.
answer_texts = st.sampled_from(["yes", "Yes", " no", "NO", "", " ", "NA", "unknown", "maybe", "1"])
SAMPLE = Path(__file__).resolve().parent.parent / "models" / "icloud_sync.reports.csv"


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


def read_text(path: Path) -> pd.DataFrame:
    """A scored CSV as text, exactly as written."""
    return pd.read_csv(path, dtype=object, keep_default_na=False)


def number_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("p_") or c in ("top_probability",)]


@given(
    hnp.arrays(
        np.int16,
        st.tuples(st.integers(1, 60), st.integers(1, 50)),
        elements=st.integers(-2, 6),
    )
)
def test_unique_rows_equal_numpy_unique(codes: np.ndarray) -> None:
    """unique_rows gives np.unique(axis=0)'s rows, in its order, and the same inverse, also
    when the rows need several packed keys (up to 50 columns of 9 codes: 159 bits)."""
    rows, inverse = unique_rows(codes)
    expected, expected_inverse = np.unique(codes, axis=0, return_inverse=True)
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_array_equal(inverse, expected_inverse.ravel())
    np.testing.assert_array_equal(rows[inverse], codes)


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30),
    st.integers(0, MAX_PRECISION),
)
def test_fixed_text_is_within_half_a_unit(values: list[float], decimals: int) -> None:
    """Every finite number gets exactly `decimals` decimals and reads back within half a unit
    of its last digit (plus the rounding of the scaling); NaN is empty, infinities inf/-inf;
    away from a tie, the text is Python's own `f"{x:.{decimals}f}"`."""
    texts = fixed_text(np.array(values, dtype=float), decimals).to_pylist()
    shape = re.compile(r"-?\d+" + (rf"\.\d{{{decimals}}}" if decimals else "") + "$")
    for value, text in zip(values, texts):
        if math.isnan(value):
            assert text is None
        elif math.isinf(value):
            assert text == ("inf" if value > 0 else "-inf")
        else:
            assert shape.match(text), text
            slack = 0.5 * 10.0**-decimals + 2 * math.ulp(abs(value))
            assert abs(float(text) - value) <= slack
            scaled = abs(value) * 10.0**decimals
            if scaled < 2**52 and abs(scaled - math.floor(scaled) - 0.5) > 1e-6 * max(1, scaled):
                assert text == f"{value:.{decimals}f}"


@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 40), st.integers(1, 5)),
        elements=st.one_of(
            st.floats(0, 1), st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf])
        ),
    ),
    st.integers(0, 8),
)
def test_fixed_run_joins_the_cells_of_each_row(values: np.ndarray, decimals: int) -> None:
    """fixed_run writes each row as its cells' fixed_text joined by commas, NaN empty, in
    blocks of any size."""
    cells = [fixed_text(values[:, j].copy(), decimals).to_pylist() for j in range(values.shape[1])]
    expected = [",".join(c or "" for c in row) for row in zip(*cells)]
    assert fixed_run(values, decimals).to_pylist() == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_numbers, "BLOCK_VALUES", 7)
        assert fixed_run(values, decimals).to_pylist() == expected


@given(
    st.lists(st.text(st.sampled_from('ab"é,'), max_size=4), max_size=12),
    st.integers(0, 12),
    st.integers(0, 12),
)
def test_quotes_are_found_in_any_slice_of_a_text_column(
    values: list[str], start: int, length: int
) -> None:
    """The quote check sees exactly the values of a sliced Arrow column, and escaping doubles
    each of their quotes."""
    import pyarrow as pa

    column = pa.array(values, pa.string()).slice(start, length)
    inside = column.to_pylist()
    assert _csvtext._has_quote(column) == any('"' in v for v in inside)
    assert _csvtext._escaped(column).to_pylist() == [v.replace('"', '""') for v in inside]


@pytest.mark.parametrize("decimals", [0, 3, 6])
def test_precision_option_sets_the_decimals(tmp_path: Path, decimals: int) -> None:
    """`--precision N` writes every probability with exactly N decimals (6 by default)."""
    dst = tmp_path / "out.csv"
    argv = ["score", str(SAMPLE), "-o", str(dst), "-q"]
    code = cli.main([*argv, "--precision", str(decimals)] if decimals != 6 else argv)
    assert code == 0
    out = read_text(dst)
    cells = out.loc[out["error"] == "", number_columns(out)].to_numpy().ravel()
    pattern = rf"\d+\.\d{{{decimals}}}" if decimals else r"\d+"
    assert pd.Series(cells).str.fullmatch(pattern).all()


def test_scores_equal_posterior_to_the_printed_precision(sync: Model, tmp_path: Path) -> None:
    """Each row's printed p_<cause> is posterior() of its answers, to within half a unit of
    the last printed decimal, for the default and for `--precision 3`."""
    source = read_text(SAMPLE).head(60)
    src = tmp_path / "in.csv"
    source.to_csv(src, index=False)
    checked = 0
    for decimals in (6, 3):
        dst = tmp_path / f"out{decimals}.csv"
        score_file(src, dst, model=sync, precision=decimals)
        out = read_text(dst).to_dict("records")
        for row, scored in zip(source.to_dict("records"), out, strict=True):
            if scored["error"]:
                continue
            answers = {k: v for k, v in row.items() if k in sync.observations and v.strip()}
            posterior = sync.posterior(answers)
            checked += 1
            for cause in sync.causes:
                printed = float(scored[f"p_{cause}"])
                # half a unit of the last decimal; 1e-12 for the batch and single engines' sums
                assert abs(printed - posterior[cause]) <= 0.5 * 10.0**-decimals + 1e-12
    assert checked > 100  # most of the 60 rows, twice


def test_full_precision_reads_back_exactly(sync: Model, tmp_path: Path) -> None:
    """`--precision full` writes the shortest text that reads back as the very double the
    scorer computed (the output before --precision existed)."""
    dst = tmp_path / "out.csv"
    assert cli.main(["score", str(SAMPLE), "-o", str(dst), "-q", "--precision", "full"]) == 0
    out = read_text(dst)
    scored = sync.score(read_text(SAMPLE))
    ok = out["error"] == ""
    for column in number_columns(out):
        printed = out.loc[ok, column].astype(float).to_numpy()
        np.testing.assert_array_equal(printed, scored.loc[ok.to_numpy(), column].to_numpy())


@pytest.mark.parametrize("bad", ["-1", "16", "two", "1.5"])
def test_bad_precision_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A precision that is not 0..15 or 'full' is refused by the argument parser."""
    with pytest.raises(SystemExit):
        cli.main(["score", str(SAMPLE), "-o", "-", "--precision", bad])
    assert "expected decimals from 0 to 15, or 'full'" in capsys.readouterr().err


def test_check_precision_refuses_other_values() -> None:
    """score_file's precision is an int from 0 to 15 or None."""
    assert check_precision(None) is None
    assert check_precision(4) == 4
    with pytest.raises(ValueError, match="from 0 to 15"):
        check_precision(16)
    with pytest.raises(TypeError):
        check_precision("full")  # type: ignore[arg-type]


def slow_writes(monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[str]:
    """TableWriter._write made slow (so the scorer runs ahead of the writer thread) and, with
    `fail_at`, failing with a full disk on that call; returns the threads that wrote."""
    threads: list[str] = []
    write = _writer.TableWriter._write

    def slow(self: Any, frame: Any) -> None:
        threads.append(threading.current_thread().name)
        if fail_at is not None and len(threads) == fail_at:
            time.sleep(0.01)
            raise OSError(errno.ENOSPC, "No space left on device")
        time.sleep(0.002 * (len(threads) % 3))
        write(self, frame)

    monkeypatch.setattr(_writer.TableWriter, "_write", slow)
    return threads


def test_rows_keep_their_order_through_the_writer_thread(
    sync: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many small chunks written by the background writer, at uneven speeds, come out every
    one, once, in input order."""
    threads = slow_writes(monkeypatch)
    source = read_text(SAMPLE)
    dst = tmp_path / "out.csv"
    summary = score_file(SAMPLE, dst, model=sync, chunk_size=7)
    out = read_text(dst)
    assert summary.rows == len(out) == len(source)
    pd.testing.assert_frame_equal(out[source.columns], source)
    assert len(threads) == -(-len(source) // 7)
    assert all(name.startswith("syncdx-write") for name in threads)


def test_writer_error_surfaces_as_one_input_error(
    sync: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up inside the writer thread stops the run with an InputError naming
    the output (no hang, no partial file left where the output goes)."""
    slow_writes(monkeypatch, fail_at=3)
    dst = tmp_path / "out.csv"
    with pytest.raises(InputError, match="cannot write: No space left on device") as caught:
        score_file(SAMPLE, dst, model=sync, chunk_size=50)
    assert str(dst) in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_writer_error_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same failure through `syncdx score`: exit code 4 and one line on stderr."""
    slow_writes(monkeypatch, fail_at=2)
    dst = tmp_path / "out.csv"
    code = cli.main(["score", str(SAMPLE), "-o", str(dst), "--chunk-size", "40"], io.StringIO())
    assert code == 4
    err = capsys.readouterr().err
    assert "cannot write: No space left on device" in err
    assert "Traceback" not in err


@given(st.lists(st.lists(answer_texts, max_size=20), min_size=1, max_size=5))
def test_remembered_spellings_encode_as_a_fresh_dictionary_does(columns: list[list[str]]) -> None:
    """A column encoded through the spellings remembered from earlier columns gets the codes
    a fresh dictionary encoding gives it, new spellings included."""
    import pyarrow as pa

    variable = syncdx.load_model().network.variable("paused_banner")
    unknown = frozenset(UNKNOWN_WORDS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_arrow, "_SEEN", {})
        for values in columns:
            got = _arrow.encode_arrow(variable, pa.array(values, pa.string()), unknown)
            expected = encode_column(variable, pd.Series(values, dtype=object), unknown)
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("precision", [6, None])
def test_score_lines_made_per_row_or_per_outcome_are_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch, precision: int | None
) -> None:
    """CSV lines of a scored table do not depend on whether the score text is made once per
    distinct outcome and taken per row, or made per row from the gathered numbers (in halves
    that pieces of TEXT_ROWS rows must not straddle)."""
    import pyarrow as pa

    rng = np.random.default_rng(7)
    rows, outcomes = 2 * _csvtext.TEXT_ROWS + 1234, 5000
    names = np.array(["a", 'b"q', None, "c,d"], dtype=object)
    scores = {
        "p": rng.random(outcomes),
        "top": names[rng.integers(0, 4, outcomes)],
        "log": np.where(rng.random(outcomes) < 0.1, np.nan, -rng.exponential(5, outcomes)),
    }
    inputs = pa.table({"id": [f"r{i}" for i in range(rows)]})
    table = _arrow.ScoredTable.build(inputs, scores, rng.integers(0, outcomes, rows))
    made = {}
    for repeated in (0, 10**9):  # never / always gathered per row
        monkeypatch.setattr(_arrow, "REPEATED", repeated)
        made[repeated] = b"".join(bytes(piece) for piece in table.csv_bytes(precision))
    assert made[0] == made[10**9]
    assert made[0].count(b"\n") == rows
