"""Parquet columns of any Arrow type: scored or refused in one line, never a raw Arrow error."""

from __future__ import annotations

import csv
import datetime
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import InputError, Model, score_file

NESTED = {
    "list": pa.array([["yes"], None, []], pa.list_(pa.string())),
    "large_list": pa.array([["yes"], None, ["no"]], pa.large_list(pa.string())),
    "fixed_size_list": pa.array([["yes"], None, ["no"]], pa.list_(pa.string(), 1)),
    "struct": pa.array([{"a": "yes"}, None, {"a": "no"}]),
    "map": pa.array([[("a", "yes")], None, []], pa.map_(pa.string(), pa.string())),
}
TEXT = {
    "string_view": pa.array(["yes", None, "NO "], pa.string_view()),
    "large_string": pa.array(["yes", None, "NO "], pa.large_string()),
    "binary": pa.array([b"yes", None, b"NO "], pa.binary()),
    "large_binary": pa.array([b"yes", None, b"NO "], pa.large_binary()),
    "binary_view": pa.array([b"yes", None, b"NO "], pa.binary_view()),
}


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


def parquet(path: Path, **columns: Any) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("kind", NESTED)
def test_a_nested_observation_column_gives_row_errors_naming_the_column(
    sync: Model, tmp_path: Path, kind: str
) -> None:
    """Lists, structs and maps in an observation column: each given cell is a row error naming
    the column (as in a DataFrame), an empty cell is unobserved; strict names file and column."""
    src = parquet(tmp_path / "in.parquet", paused_banner=NESTED[kind])
    dst = tmp_path / "out.parquet"
    assert score_file(src, dst, model=sync).rows == 3
    errors = pq.read_table(dst).column("error").to_pylist()
    assert errors[1] is None
    for error in (errors[0], errors[2]):
        assert error.startswith("column 'paused_banner': ")
        assert "is not a state" in error
    with pytest.raises(InputError, match=r"in\.parquet, column 'paused_banner': record 1: "):
        score_file(src, dst, model=sync, strict=True)


@pytest.mark.parametrize("kind", NESTED)
def test_a_nested_column_written_to_csv_is_one_line_naming_file_and_column(
    sync: Model, tmp_path: Path, kind: str
) -> None:
    """A nested column (observation or not) cannot be CSV: an InputError naming the output
    and the column; no output file, no temporary file left."""
    src = parquet(tmp_path / "in.parquet", paused_banner=TEXT["large_string"], extra=NESTED[kind])
    dst = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"out\.csv, column 'extra': .* cannot be written as CSV"):
        score_file(src, dst, model=sync)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


@pytest.mark.parametrize("kind", TEXT)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_text_like_observation_columns_score_as_text(
    sync: Model, tmp_path: Path, kind: str, suffix: str
) -> None:
    """String views, large strings and UTF-8 bytes are answers like plain text, to CSV (as
    text) and to Parquet."""
    src = parquet(tmp_path / "in.parquet", paused_banner=TEXT[kind], note=TEXT[kind])
    plain = parquet(tmp_path / "plain.parquet", paused_banner=pa.array(["yes", None, "NO "]))
    dst, want = tmp_path / f"out{suffix}", tmp_path / f"want{suffix}"
    score_file(src, dst, model=sync)
    score_file(plain, want, model=sync)
    if suffix == ".csv":
        got, expected = csv_rows(dst), csv_rows(want)
        assert [row.pop("note") for row in got] == ["yes", "", "NO "]
        assert got == expected
    else:
        got_table, want_table = pq.read_table(dst), pq.read_table(want)
        assert got_table.drop_columns(["paused_banner", "note"]).equals(
            want_table.drop_columns(["paused_banner"])
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.binary(max_size=4)), min_size=1, max_size=8))
def test_bytes_written_to_csv_are_text_or_an_error_at_the_first_bad_row(
    sync: Model, cells: list[bytes | None]
) -> None:
    """Any bytes in a binary column: CSV holds them as the UTF-8 text they are, or the run is
    one InputError naming the output, the column and the first row that is not UTF-8."""
    bad = [i for i, cell in enumerate(cells) if cell is not None and not is_utf8(cell)]
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "in.parquet"
        table = pa.table(
            {"note": pa.array(cells, pa.binary()), "paused_banner": ["yes"] * len(cells)}
        )
        pq.write_table(table, src, row_group_size=3)
        dst = Path(folder) / "out.csv"
        if bad:
            with pytest.raises(InputError, match=rf"out\.csv, column 'note': row {bad[0] + 1} "):
                score_file(src, dst, model=sync, chunk_size=3)
            assert not dst.exists()
            return
        score_file(src, dst, model=sync, chunk_size=3)
        notes = [row["note"] for row in csv_rows(dst)]
    assert notes == ["" if cell is None else cell.decode() for cell in cells]


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_bad_bytes_in_an_observation_column_are_a_row_error(sync: Model, tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in an observation column: that row's error, the others scored."""
    cells = pa.array([b"yes", b"\xffyes", None], pa.binary())
    src = parquet(tmp_path / "in.parquet", paused_banner=cells)
    dst = tmp_path / "out.parquet"
    score_file(src, dst, model=sync)
    out = pq.read_table(dst)
    errors = out.column("error").to_pylist()
    assert errors[0] is None
    assert errors[2] is None
    assert errors[1] == "column 'paused_banner': b'\\xffyes' is not a state; allowed: yes, no"


def test_dates_and_numbers_still_write_to_csv(sync: Model, tmp_path: Path) -> None:
    """Columns Arrow writes as text (dates, decimals) are written as before."""
    day = pa.array([datetime.date(2024, 1, 2), None])
    src = parquet(tmp_path / "in.parquet", paused_banner=["yes", "no"], day=day)
    score_file(src, tmp_path / "out.csv", model=sync)
    assert [row["day"] for row in csv_rows(tmp_path / "out.csv")] == ["2024-01-02", ""]


def test_scores_are_written_plainly_and_text_through_a_dictionary(
    sync: Model, tmp_path: Path
) -> None:
    """In a scored Parquet file the probabilities (floats that hardly repeat) are plainly
    encoded, text columns, inputs and top causes, dictionary encoded; the table reads back
    as it was scored."""
    src = parquet(tmp_path / "in.parquet", ticket=["a", "b", "c"], paused_banner=["yes", "", "no"])
    dst = tmp_path / "out.parquet"
    score_file(src, dst, model=sync)
    group = pq.ParquetFile(dst).metadata.row_group(0)
    encodings = {
        group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)
    }
    for name in ("ticket", "paused_banner", "top_cause", "top_1"):
        assert "RLE_DICTIONARY" in encodings[name]
    for name in ("p_stalled_session", "top_probability", "log_evidence"):
        assert "RLE_DICTIONARY" not in encodings[name]
    scored = pq.read_table(dst).to_pandas()
    assert list(scored["ticket"]) == ["a", "b", "c"]
    expected = sync.posterior({"paused_banner": "yes"})["stalled_session"]
    assert scored["p_stalled_session"][0] == pytest.approx(expected, rel=1e-12)
