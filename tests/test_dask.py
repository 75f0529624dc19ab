"""The Dask engine: same columns and rows as the local engine, on a loopback LocalCluster."""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import InputError, SyncdxError, cli, score_file
from syncdx.batch._dask import score_dask
from syncdx.batch._part_folder import MARKER

distributed = pytest.importorskip("distributed")

SAMPLE = Path(__file__).resolve().parent.parent / "models" / "icloud_sync.reports.csv"

#: Numeric score columns besides p_<cause> (compared to rounding, not as text).
NUMBERS = ("top_probability", "log_evidence", "next_question_gain")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """An in-process cluster on loopback TCP: two workers; its HTTP server on a free port, so
    that a busy 8787 (another cluster, a parallel test worker) is no warning."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


def read_parts(folder: Path) -> pd.DataFrame:
    """The parts of an output directory, in order, as one table of text (CSV) or values."""
    parts = sorted(folder.glob("part-*"))
    if parts[0].suffix == ".parquet":
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    frames = [pd.read_csv(p, dtype=object, keep_default_na=False) for p in parts]
    return pd.concat(frames, ignore_index=True)


def assert_same_scores(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns and rows; text exact, numbers equal to rounding."""
    assert list(got.columns) == list(expected.columns)
    numbers = [c for c in expected.columns if c.startswith("p_") or c in NUMBERS]
    text = [c for c in expected.columns if c not in numbers]
    pd.testing.assert_frame_equal(got[text], expected[text], check_dtype=False)
    np.testing.assert_allclose(
        got[numbers].replace("", np.nan).astype(float),
        expected[numbers].replace("", np.nan).astype(float),
        atol=1e-12,
    )


def write_files(folder: Path) -> list[Path]:
    """Two CSV files with the same header: bad values, quoted line breaks, a blank line."""
    sample = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = sample[0], "".join(sample[1:])
    records = list(csv.reader(io.StringIO(body)))
    first, second = folder / "a.csv", folder / "b.csv"
    for path, rows in ((first, records[:150]), (second, records[150:])):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write(header)
            csv.writer(handle, lineterminator="\n").writerows(rows)
    with open(second, "a", encoding="utf-8") as handle:
        handle.write("\n")
    return [first, second]


def test_csv_glob_matches_local_engine(scheduler: str, tmp_path: Path) -> None:
    """A glob of CSV files scores into ordered parts equal to the local engine's output."""
    files = write_files(tmp_path)
    whole = tmp_path / "whole.csv"
    whole.write_text(files[0].read_text() + "".join(files[1].read_text().splitlines(True)[1:]))
    score_file(whole, tmp_path / "local.csv")
    summary = score_dask(str(tmp_path / "[ab].csv"), str(tmp_path / "out"), scheduler=scheduler)
    expected = pd.read_csv(tmp_path / "local.csv", dtype=object, keep_default_na=False)
    assert_same_scores(read_parts(tmp_path / "out"), expected)
    assert summary.rows == len(expected) == 401
    assert summary.errors == 5  # the "not sure" and "maybe" cells are no evidence, not errors


def test_parquet_row_groups_match_local_engine(scheduler: str, tmp_path: Path) -> None:
    """A Parquet file is split by row group; the parts, in order, equal the local output."""
    sample = pd.read_csv(SAMPLE, dtype=object, keep_default_na=False)
    sample.to_parquet(tmp_path / "in.parquet", row_group_size=64)
    score_file(tmp_path / "in.parquet", tmp_path / "local.parquet")
    score_dask(str(tmp_path / "in.parquet"), str(tmp_path / "out"), scheduler=scheduler)
    assert len(list((tmp_path / "out").glob("part-*"))) == 7
    assert_same_scores(read_parts(tmp_path / "out"), pd.read_parquet(tmp_path / "local.parquet"))


def test_blocksize_splits_one_file(scheduler: str, tmp_path: Path) -> None:
    """--blocksize cuts a CSV without quoted line breaks into several ordered partitions."""
    sample = pd.read_csv(SAMPLE, dtype=object, keep_default_na=False)
    sample["customer_note"] = sample["customer_note"].str.replace("\n", " ")
    sample.to_csv(tmp_path / "in.csv", index=False)
    score_file(tmp_path / "in.csv", tmp_path / "local.csv")
    score_dask(str(tmp_path / "in.csv"), str(tmp_path / "out"), scheduler=scheduler, blocksize=8000)
    assert len(list((tmp_path / "out").glob("part-*"))) > 2
    expected = pd.read_csv(tmp_path / "local.csv", dtype=object, keep_default_na=False)
    assert_same_scores(read_parts(tmp_path / "out"), expected)


def test_strict_names_file_and_line(scheduler: str, tmp_path: Path) -> None:
    """With strict, a bad row fails the run naming its file and line; nothing is written."""
    files = write_files(tmp_path)
    with pytest.raises(InputError, match=r"b\.csv, line \d+: column '\w+': '[^']+' is not a state"):
        score_dask(str(files[1]), str(tmp_path / "out"), scheduler=scheduler, strict=True)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_cli_dask_engine(scheduler: str, tmp_path: Path) -> None:
    """`syncdx score --engine dask --scheduler ADDRESS` writes Parquet parts and a summary."""
    out = io.StringIO()
    argv = ["score", str(SAMPLE), "-o", str(tmp_path / "scores.parquet"), "--summary"]
    code = cli.main([*argv, "--engine", "dask", "--scheduler", scheduler], stdout=out)
    assert code == 0
    assert len(read_parts(tmp_path / "scores.parquet")) == 400
    assert "scored 400 rows" in out.getvalue()


def test_both_engines_give_the_same_columns_and_undetermined_flags(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`syncdx score` on the sample reports: the Dask engine writes the same columns as the
    local one (the `undetermined` column of --min-lift included) with the same values, and
    its summary line counts the undetermined rows too."""
    local, parts = tmp_path / "local.csv", tmp_path / "parts"
    base = ["score", str(SAMPLE), "--min-lift", "0.1"]
    assert cli.main([*base, "-o", str(local)]) == 0
    local_line = capsys.readouterr().err
    assert cli.main([*base, "-o", str(parts), "--engine", "dask", "--scheduler", scheduler]) == 0
    dask_line = capsys.readouterr().err
    expected = pd.read_csv(local, dtype=object, keep_default_na=False)
    got = read_parts(parts)
    assert "undetermined" in expected.columns
    assert_same_scores(got, expected)
    flagged = int((expected["undetermined"] == "yes").sum())
    assert 0 < flagged < len(expected)
    for line in (local_line, dask_line):
        assert f", {flagged} undetermined (top cause within 0.1 of its prior)" in line


def test_dask_reads_the_models_unknown_words(scheduler: str, tmp_path: Path) -> None:
    """`unknown_words` reach the workers: those words are no evidence, the defaults errors."""
    src = tmp_path / "in.csv"
    src.write_text("id,paused_banner\n1,perhaps\n2,maybe\n3,yes\n")
    words = frozenset({"perhaps"})
    summary = score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler, unknown_words=words)
    scored = read_parts(tmp_path / "out")
    assert (scored["error"] != "").tolist() == [False, True, False]
    assert summary.errors == 1
    model = syncdx.load_model(unknown_words=words)
    score_file(src, tmp_path / "local.csv", model=model)
    expected = pd.read_csv(tmp_path / "local.csv", dtype=object, keep_default_na=False)
    assert_same_scores(scored, expected)


def test_no_matching_file(tmp_path: Path) -> None:
    """A glob that matches nothing is an InputError before any cluster starts."""
    with pytest.raises(InputError, match="no file matches"):
        score_dask(str(tmp_path / "*.csv"), str(tmp_path / "out"))


def test_parquet_types_are_kept_in_every_part(scheduler: str, tmp_path: Path) -> None:
    """Nullable integers, booleans with nulls and dictionaries keep their Arrow types; every
    part has the same schema, even where a row group's integers have a null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "n": pa.array([1, 2, None, 4], pa.int64()),
            "paused_banner": pa.array([True, None, False, True]),
            "internet_works": pa.array(["yes", "no", None, "yes"]).dictionary_encode(),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=2)
    score_dask(str(tmp_path / "in.parquet"), str(tmp_path / "out"), scheduler=scheduler)
    schemas = [pq.read_schema(p) for p in sorted((tmp_path / "out").glob("part-*"))]
    assert len(schemas) == 2
    assert all(s.equals(schemas[0]) for s in schemas)
    assert [schemas[0].field(c).type for c in ("n", "paused_banner")] == [pa.int64(), pa.bool_()]
    assert pa.types.is_dictionary(schemas[0].field("internet_works").type)
    score_file(tmp_path / "in.parquet", tmp_path / "local.parquet")
    assert_same_scores(read_parts(tmp_path / "out"), pd.read_parquet(tmp_path / "local.parquet"))


@pytest.mark.parametrize(
    "content",
    [
        b"id,paused_banner\n1,yes\n2,caf\xe9\n",
        b"id,note,paused_banner\n1,x,yes\n2,y,no,extra\n",
        b"id,note,paused_banner\n1,x,yes\n2,y\n",
        b"id,note\n1,x\n",
    ],
    ids=["not-utf8", "too-many-fields", "too-few-fields", "no-observation"],
)
def test_unreadable_csv_fails_as_in_the_local_engine(
    scheduler: str, tmp_path: Path, content: bytes
) -> None:
    """A CSV file the local engine rejects is rejected with the same one-line InputError."""
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    with pytest.raises(InputError) as local:
        score_file(src, tmp_path / "local.csv")
    with pytest.raises(InputError) as dask:
        score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler)
    assert str(dask.value) == str(local.value)
    assert str(src) in str(dask.value)
    assert not (tmp_path / "out").exists()


def test_cr_line_endings_read_as_in_the_local_engine(scheduler: str, tmp_path: Path) -> None:
    """A CSV whose lines end in CR alone scores the same rows as locally."""
    src = tmp_path / "in.csv"
    src.write_bytes(b'id,screen 5",paused_banner\r1,a,yes\r2,b,perhaps\r\r')
    score_file(src, tmp_path / "local.csv")
    score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler)
    expected = pd.read_csv(tmp_path / "local.csv", dtype=object, keep_default_na=False)
    assert len(expected) == 3
    assert_same_scores(read_parts(tmp_path / "out"), expected)


def test_blocksize_through_a_quoted_line_break_says_so(scheduler: str, tmp_path: Path) -> None:
    """Blocks cut inside a quoted line break: a one-line error suggesting no --blocksize."""
    src = tmp_path / "in.csv"
    src.write_text("note,paused_banner\n" + '"a\nb",yes\n' * 400)
    with pytest.raises(InputError, match="score without --blocksize"):
        score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler, blocksize=1000)


def test_output_is_a_directory_with_the_umask_mode(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stdout is refused (Dask writes parts); the directory gets the umask's mode, not 0700."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="give -o DIR"):
        score_dask(str(SAMPLE), "-", scheduler=scheduler)
    assert list(tmp_path.iterdir()) == []
    previous = os.umask(0o022)
    try:
        score_dask(str(SAMPLE), str(tmp_path / "out"), scheduler=scheduler)
    finally:
        os.umask(previous)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


#: Files a user may keep in a folder (never one of the names a one-part run writes).
USER_FILES = ("notes.txt", "in.csv", "part-00001.csv", "part-00009.parquet", ".hidden", "0.part")


def snapshot(folder: Path, skip: set[Path]) -> dict[Path, bytes]:
    """Every file under `folder` (links not followed) but those in `skip`, with its bytes."""
    return {
        path: path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and path not in skip
    }


def small_inputs(root: Path, count: int) -> list[Path]:
    """`count` copies of a 20-row CSV of reports (a part each), named in.csv, in1.csv, ..."""
    rows = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    body = [r for r in rows[1:] if r.count('"') == 0][:20]
    paths = [root / f"in{i or ''}.csv" for i in range(count)]
    for path in paths:
        path.write_text(rows[0] + "".join(body), encoding="utf-8")
    return paths


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    previous=st.sampled_from([None, "csv", "parquet"]),
    previous_parts=st.integers(1, 3),
    user_files=st.dictionaries(st.sampled_from(USER_FILES), st.binary(max_size=8), max_size=3),
    nested=st.booleans(),
    input_inside=st.booleans(),
    via_link=st.sampled_from([None, "csv", "parquet"]),
)
def test_output_folder_keeps_every_file_syncdx_did_not_write(
    scheduler: str,
    previous: str | None,
    previous_parts: int,
    user_files: dict[str, bytes],
    nested: bool,
    input_inside: bool,
    via_link: str | None,
) -> None:
    """Whatever the output folder holds (other files, folders, the input, a previous run's
    parts, reached through a link or not), no file syncdx did not write is changed or deleted;
    a folder holding anything but syncdx's parts is refused; a run replaces all its old parts."""
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp), Path(tmp) / "out"
        inputs = small_inputs(root, previous_parts)
        if previous is not None:
            (root / f"prev.{previous}").symlink_to(out)
            score_dask(str(root / "in*.csv"), str(root / f"prev.{previous}"), scheduler=scheduler)
        ours = set(out.iterdir()) if out.exists() else set()
        for name, content in user_files.items():
            path = out / "sub" / name if nested else out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        src = inputs[0]
        if input_inside:
            out.mkdir(exist_ok=True)
            src = Path(shutil.copy(src, out / "input.csv"))
        kept = snapshot(root, ours)
        dst = out
        if via_link is not None:
            dst = root / f"link.{via_link}"
            dst.symlink_to(out)
        try:
            score_dask(str(src), str(dst), scheduler=scheduler)
            refused = False
        except InputError:
            refused = True
        assert snapshot(root, ours) | kept == snapshot(root, ours)
        assert refused == bool(user_files or input_inside)
        assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no staging left
        if not refused:
            fmt = via_link or "csv"
            assert sorted(p.name for p in out.iterdir()) == [MARKER, f"part-00000.{fmt}"]
            assert len(read_parts(out)) == 20


@pytest.mark.parametrize(
    ("source", "dst"),
    [
        ("in.csv", "."),
        ("in.csv", ".."),
        ("in.csv", "data"),
        ("sub/in.csv", "sub"),
        ("in.csv", "in.csv"),
        ("in.csv", "data/keep.txt"),
        ("in.csv", "missing/out"),
    ],
)
def test_refused_output_folder_is_refused_before_scoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, dst: str
) -> None:
    """The current folder (or one above it), a folder with other files, one holding the input,
    a file, a folder in a missing one: an InputError saying why, before any model is loaded;
    nothing is touched."""
    here = tmp_path / "here"
    (here / "data").mkdir(parents=True)
    (here / "data" / "keep.txt").write_text("mine")
    (here / "sub").mkdir()
    (here / "sub" / "in.csv").write_text(SAMPLE.read_text(encoding="utf-8"))
    src = here / "in.csv"
    src.write_text(SAMPLE.read_text(encoding="utf-8"))
    monkeypatch.chdir(here)
    before = snapshot(tmp_path, set()), sorted(tmp_path.rglob("*"))
    monkeypatch.setattr(
        "syncdx.batch._dask.read_model_file", lambda *_: pytest.fail("model loaded")
    )
    code = cli.main(["score", source, "-o", dst, "--engine", "dask"])
    assert code == 4
    assert (snapshot(tmp_path, set()), sorted(tmp_path.rglob("*"))) == before


def test_output_folder_messages_say_why_and_what_to_do(scheduler: str, tmp_path: Path) -> None:
    """Each refusal names the folder, the reason, and what to do instead."""
    src = small_inputs(tmp_path, 1)[0]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(
        InputError,
        match=r"full: is not empty and not a previous syncdx output.*"
        r"choose a new or empty folder",
    ):
        score_dask(str(src), str(tmp_path / "full"), scheduler=scheduler)
    score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler)
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"holds 'notes.txt', which syncdx did not write"):
        score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler)
    with pytest.raises(InputError, match=r"holds the input .*in\.csv"):
        score_dask(str(src), str(tmp_path), scheduler=scheduler)


def test_a_part_written_over_since_is_refused_and_kept(scheduler: str, tmp_path: Path) -> None:
    """A user file saved under the name of one of syncdx's parts (its content replaced) is not
    syncdx's any more: the next run refuses the folder and leaves that file as it is."""
    srcs = small_inputs(tmp_path, 2)
    out = tmp_path / "out"
    score_dask(str(tmp_path / "in*.csv"), str(out), scheduler=scheduler)
    (out / "part-00001.csv").write_bytes(b"mine")
    with pytest.raises(InputError, match=r"part-00001\.csv.*changed since syncdx wrote it"):
        score_dask(str(srcs[0]), str(out), scheduler=scheduler)
    assert (out / "part-00001.csv").read_bytes() == b"mine"
    score_dask(str(tmp_path / "in*.csv"), str(tmp_path / "again"), scheduler=scheduler)
    score_dask(str(srcs[0]), str(tmp_path / "again"), scheduler=scheduler)  # unchanged: replaced
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == [MARKER, "part-00000.csv"]


def test_output_through_a_link_to_a_folder(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o LINK` to a folder writes the parts into the folder it points to (the link kept),
    run after run; a link loop is a one-line error (exit code 4), never a traceback."""
    src = small_inputs(tmp_path, 1)[0]
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    argv = ["score", str(src), "--engine", "dask", "--scheduler", scheduler, "-o"]
    assert cli.main([*argv, str(tmp_path / "link")]) == 0
    assert cli.main([*argv, str(tmp_path / "link")]) == 0
    assert (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in (tmp_path / "target").iterdir()) == [MARKER, "part-00000.csv"]
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert cli.main([*argv, str(tmp_path / "loop")]) == 4
    assert "Traceback" not in capsys.readouterr().err


def test_a_changed_model_file_is_read_again_by_the_cluster(scheduler: str, tmp_path: Path) -> None:
    """Workers that scored with a model file score with its new numbers once it changes (the
    cache of compiled models is keyed by the file's content, not its path)."""
    from syncdx import shipped_model_path

    src = small_inputs(tmp_path, 1)[0]
    model = tmp_path / "model.yaml"
    text = shipped_model_path().read_text(encoding="utf-8")
    model.write_text(text, encoding="utf-8")
    score_dask(str(src), str(tmp_path / "out"), model=model, scheduler=scheduler)
    changed = text.replace("prior: 0.25", "prior: 0.01", 1)
    assert changed != text
    model.write_text(changed, encoding="utf-8")
    score_dask(str(src), str(tmp_path / "out"), model=model, scheduler=scheduler)
    score_file(src, tmp_path / "local.csv", model=model)
    expected = pd.read_csv(tmp_path / "local.csv", dtype=object, keep_default_na=False)
    assert_same_scores(read_parts(tmp_path / "out"), expected)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(2, 600),
    data=st.data(),
    blocksize=st.sampled_from([None, 2000, 10**6]),
    ending=st.sampled_from(["\n", "\r\n"]),
)
def test_an_unclosed_quote_in_the_last_column_is_an_error(
    scheduler: str, rows: int, data: st.DataObject, blocksize: int | None, ending: str
) -> None:
    """A quote opened in the last column and never closed (which would swallow every later
    row) fails the run naming the file and the line it opened on, with or without blocks."""
    bad = data.draw(st.integers(1, rows), label="bad")
    lines = ["id,paused_banner,note"] + [f"{i},yes,ok" for i in range(1, rows + 1)]
    lines[bad] = f'{bad},yes,"he said hi'
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        src.write_bytes(ending.join(lines).encode() + ending.encode())
        with pytest.raises(InputError, match=rf"in\.csv, line {bad + 1}: .*quote"):
            score_dask(str(src), str(Path(tmp) / "out"), scheduler=scheduler, blocksize=blocksize)
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["in.csv"]


def test_a_partition_that_loses_rows_fails_the_run(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition scored into fewer rows than it read is an error, never a short output."""
    from syncdx.batch._scorer import Scorer

    score = Scorer.score
    monkeypatch.setattr(Scorer, "score", lambda self, frame: score(self, frame).iloc[1:])
    src = small_inputs(tmp_path, 1)[0]
    with pytest.raises(SyncdxError, match="20 records read, 19 rows scored"):
        score_dask(str(src), str(tmp_path / "out"), scheduler=scheduler)
    assert not (tmp_path / "out").exists()
