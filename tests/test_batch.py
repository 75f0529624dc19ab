"""Batch scoring of frames and files: columns, errors, nothing lost or reordered."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import InputError, Model, score_file
from syncdx.batch._arrow import ScoredTable
from syncdx.batch._frames import ArrowFrame, Frame, Output, PandasFrame
from syncdx.batch._patterns import Numbers
from syncdx.batch._readers import read_table
from syncdx.batch._scorer import Scored, Scorer, _bad_cell
from syncdx.diagnosis._evidence import UNKNOWN_WORDS
from syncdx.network._network import CAUSE_STATES, Network, Variable
from tests.strategies import answer_cells, report_files

SAMPLE = Path(__file__).resolve().parent.parent / "models" / "icloud_sync.reports.csv"
#: Numeric score columns besides p_<cause> (compared to rounding, not as text).
NUMBERS = ("top_probability", "log_evidence", "next_question_gain")


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


@pytest.fixture(scope="module")
def strict_model() -> Model:
    """A cause that two observations report without noise: `a=yes, b=no` is impossible."""
    yes_no = ("yes", "no")
    exact = np.array([[0.0, 1.0], [1.0, 0.0]])
    return Model(
        Network(
            (
                Variable("c", CAUSE_STATES, "cause"),
                Variable("a", yes_no, "observation", cost=1.0),
                Variable("b", yes_no, "observation", cost=1.0),
                Variable("d", yes_no, "observation", cost=1.0),
            ),
            ((), (0,), (0,), (0,)),
            (np.array([0.7, 0.3]), exact, exact, np.array([[0.2, 0.8], [0.6, 0.4]])),
            name="exact",
        )
    )


def read_back(path: Path) -> pd.DataFrame:
    """A scored CSV as text, exactly as written."""
    return pd.read_csv(path, dtype=object, keep_default_na=False)


def test_score_appends_columns_in_documented_order(sync: Model) -> None:
    """Input columns come first, unchanged, then p_<cause>, top, top_k, log P(e), error."""
    frame = pd.DataFrame({"id": ["007"], "paused_banner": ["Yes"], "note": ["NA"]})
    out = sync.score(frame, top=2)
    causes = [f"p_{c}" for c in sync.causes]
    assert list(out.columns) == [
        *frame.columns,
        *causes,
        "top_cause",
        "top_probability",
        "top_1",
        "top_2",
        "log_evidence",
        "error",
    ]
    assert out["id"].loc[0] == "007"
    assert out["note"].loc[0] == "NA"
    assert out["top_cause"].loc[0] == out["top_1"].loc[0]
    assert pd.isna(out["error"].loc[0])


def test_scores_match_posteriors_and_evidence(sync: Model) -> None:
    """p_<cause> equals Model.posteriors, log_evidence equals log P(e), row by row."""
    frame = pd.DataFrame(
        {
            "paused_banner": ["yes", "", "no", "y"],
            "internet_works": ["no", "yes", "", "FALSE"],
            "system_status": ["", "icloud_issue", "all_green", ""],
        },
        index=[10, 3, 7, 1],
    )
    out = sync.score(frame)
    expected = sync.posteriors(frame)
    got = out[[f"p_{c}" for c in sync.causes]].set_axis(list(sync.causes), axis=1)
    pd.testing.assert_frame_equal(got, expected, check_names=False)
    evidence = {"paused_banner": "no", "system_status": "all_green"}
    assert out.loc[7, "log_evidence"] == pytest.approx(sync.log_probability_of_evidence(evidence))
    top = expected.idxmax(axis=1)
    assert list(out["top_cause"]) == list(top)


def test_top_k_lists_likeliest_causes_in_order(sync: Model) -> None:
    """top_1..top_K are the K likeliest causes, most probable first."""
    frame = pd.DataFrame({"storage_full_alert": ["yes"], "internet_works": ["no"]})
    out = sync.score(frame, top=4)
    posterior = sync.posterior({"storage_full_alert": "yes", "internet_works": "no"})
    assert [out.loc[0, f"top_{k}"] for k in range(1, 5)] == list(posterior.index[:4])
    assert out.loc[0, "top_probability"] == pytest.approx(posterior.iloc[0])


def test_unknown_state_keeps_row_with_error(sync: Model) -> None:
    """A value that is not a state leaves its row in place with empty scores and a message."""
    frame = pd.DataFrame(
        {"paused_banner": ["yes", "perhaps", "no"], "system_status": ["", "green", ""]}
    )
    out = sync.score(frame)
    assert list(out["error"].isna()) == [True, False, True]
    message = out["error"].loc[1]
    assert "column 'paused_banner': 'perhaps' is not a state; allowed: yes, no" in message
    assert "column 'system_status': 'green'" in message
    assert "allowed: all_green, icloud_issue, imessage_issue" in message
    assert out.loc[1, [f"p_{c}" for c in sync.causes]].isna().all()
    assert pd.isna(out["top_cause"].loc[1])
    assert pd.isna(out["log_evidence"].loc[1])
    assert out["top_cause"].loc[2] == sync.posterior({"paused_banner": "no"}).index[0]


def test_impossible_row_names_conflicting_answers(strict_model: Model) -> None:
    """Impossible answers keep their row: error names the conflict, log_evidence is -inf."""
    frame = pd.DataFrame({"a": ["yes", "yes"], "b": ["no", "yes"], "d": ["yes", "no"]})
    out = strict_model.score(frame)
    assert "impossible evidence" in out["error"].loc[0]
    assert "a=yes, b=no" in out["error"].loc[0]
    assert "d=" not in out["error"].loc[0]
    assert out["log_evidence"].loc[0] == -np.inf
    assert pd.isna(out["p_c"].loc[0])
    assert pd.isna(out["error"].loc[1])
    assert out["p_c"].loc[1] == pytest.approx(1.0)


def test_only_observation_columns_are_evidence(sync: Model) -> None:
    """A column named after a cause is carried through, not used as evidence."""
    frame = pd.DataFrame({"paused_banner": ["yes"], "icloud_storage_full": ["present"]})
    out = sync.score(frame)
    assert out.loc[0, "icloud_storage_full"] == "present"
    expected = sync.posterior({"paused_banner": "yes"})["icloud_storage_full"]
    assert out.loc[0, "p_icloud_storage_full"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["ticket", "note"], "no column is named after an observation"),
        (["paused_banner", "error"], "already has the output column"),
        (["paused_banner", "p_stalled_session"], "already has the output column"),
        (["paused_banner", "paused_banner"], "column 'paused_banner': duplicate column"),
    ],
)
def test_frame_problems_raise_input_error(sync: Model, columns: list[str], message: str) -> None:
    """No evidence column, or a clash with an output column, is an InputError."""
    with pytest.raises(InputError, match=message):
        sync.score(pd.DataFrame([["yes"] * len(columns)], columns=columns))


def test_next_question_matches_recommender(sync: Model) -> None:
    """next_question is the recommender's top question for the row's answers."""
    from syncdx.diagnosis._recommend import next_questions

    frame = pd.DataFrame({"paused_banner": ["yes", "yes", "bad"], "internet_works": ["", "", ""]})
    out = Scorer(sync.diagnoser, next_question=True).score(frame)
    network = sync.network
    codes = np.array([[0, -1]], dtype=np.int16)
    columns = (network.index["paused_banner"], network.index["internet_works"])
    ids, gains = next_questions(sync.diagnoser, codes, columns)
    assert list(out["next_question"][:2]) == [ids[0], ids[0]]
    assert out["next_question_gain"][0] == pytest.approx(gains[0])
    assert pd.isna(out["next_question"].loc[2])


def write_csv(path: Path, header: list[str], rows: Sequence[list[str] | None]) -> None:
    """A CSV file; a None row is an empty line."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            if row is None:
                handle.write("\n")
            else:
                writer.writerow(row)


def test_file_keeps_text_exactly(sync: Model, tmp_path: Path) -> None:
    """Leading zeros, NA, None, quotes, commas and line breaks come out as they went in."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [["00042", "NA", "yes"], ["0", 'say "hi", then\nbye', ""], ["None", "", "n"]]
    write_csv(src, ["id", "note", "paused_banner"], rows)
    summary = score_file(src, dst, model=sync)
    out = read_back(dst)
    assert out[["id", "note", "paused_banner"]].to_numpy().tolist() == rows
    assert summary.rows == 3
    assert summary.errors == 0


def test_blank_line_is_a_blank_row(sync: Model, tmp_path: Path) -> None:
    """An empty line stays a row, with every input cell empty, scored as no evidence."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, ["id", "paused_banner"], [["1", "yes"], None, ["3", "no"]])
    score_file(src, dst, model=sync)
    out = read_back(dst)
    assert list(out["id"]) == ["1", "", "3"]
    assert float(out["log_evidence"].loc[1]) == pytest.approx(0.0, abs=1e-9)


def test_bom_and_chunking_do_not_change_output(sync: Model, tmp_path: Path) -> None:
    """A UTF-8 byte-order mark is ignored; any chunk size gives the same table."""
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    write_csv(plain, ["é", "paused_banner"], [[str(i), ["yes", "no", ""][i % 3]] for i in range(7)])
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    outputs = []
    for src, chunk in [(plain, 100), (bom, 1), (plain, 3)]:
        dst = tmp_path / f"out-{chunk}.csv"
        score_file(src, dst, model=sync, chunk_size=chunk)
        outputs.append(read_back(dst))
    first = outputs[0]
    numbers = [c for c in first.columns if c.startswith("p_") or c in NUMBERS]
    for other in outputs[1:]:  # batch composition may move the last bit of a float
        pd.testing.assert_frame_equal(other.drop(columns=numbers), first.drop(columns=numbers))
        np.testing.assert_allclose(
            other[numbers].astype(float), first[numbers].astype(float), atol=1e-12
        )
    assert read_back(tmp_path / "out-1.csv").columns[0] == "é"


def test_parquet_round_trip_matches_csv(sync: Model, tmp_path: Path) -> None:
    """Parquet in and out gives the same table as CSV, and reports its total to progress."""
    frame = pd.DataFrame({"id": ["01", "02", "03"], "paused_banner": ["yes", "perhaps", ""]})
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=2)
    frame.to_csv(tmp_path / "in.csv", index=False)
    seen: list[tuple[int, int | None]] = []
    score_file(
        tmp_path / "in.parquet",
        tmp_path / "out.parquet",
        model=sync,
        chunk_size=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    score_file(tmp_path / "in.csv", tmp_path / "out.csv", model=sync)
    from_parquet = pd.read_parquet(tmp_path / "out.parquet")
    from_csv = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}, keep_default_na=False)
    assert list(from_parquet["id"]) == ["01", "02", "03"]
    prior = sync.posterior()["stalled_session"]
    yes = sync.posterior({"paused_banner": "yes"})["stalled_session"]
    np.testing.assert_allclose(from_parquet["p_stalled_session"], [yes, np.nan, prior])
    pd.testing.assert_series_equal(from_parquet["top_cause"].fillna(""), from_csv["top_cause"])
    assert seen == [(2, 3), (3, 3)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header line"),
        (b"id,note\n1,x\n", "no column is named after an observation"),
        (b"paused_banner,id,id\nyes,1,2\n", "line 1, column 'id': duplicate column"),
        (b"id,paused_banner\n1,yes\n2,\xff\xfe\n", "line 3: not UTF-8 text"),
        (b'id,paused_banner\n1,"a\nb"\n2,yes,extra\n', "line 4: Expected 2 fields"),
    ],
)
def test_unreadable_files_raise_input_error(
    sync: Model, tmp_path: Path, content: bytes, message: str
) -> None:
    """Empty, evidence-free, duplicate-column, non-UTF-8 and ragged files are InputErrors."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(content)
    with pytest.raises(InputError, match=message):
        score_file(src, dst, model=sync)
    assert not dst.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_corrupt_parquet_is_input_error(sync: Model, tmp_path: Path) -> None:
    """A file named .parquet that is not Parquet is an InputError, not a traceback."""
    src = tmp_path / "in.parquet"
    src.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="unreadable Parquet file"):
        score_file(src, tmp_path / "out.csv", model=sync)


def test_missing_file_and_unknown_format(sync: Model, tmp_path: Path) -> None:
    """A missing input or an unknown extension is an InputError naming the file."""
    with pytest.raises(InputError, match=r"missing\.csv: cannot open"):
        score_file(tmp_path / "missing.csv", tmp_path / "out.csv", model=sync)
    with pytest.raises(InputError, match=r"unknown table format '\.xlsx'"):
        score_file(tmp_path / "in.xlsx", tmp_path / "out.csv", model=sync)


def test_strict_names_physical_line_and_column(sync: Model, tmp_path: Path) -> None:
    """--strict stops at the first bad row, counting lines inside quoted fields."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, ["note", "paused_banner"], [["a\nb\nc", "yes"], None, ["x", "perhaps"]])
    with pytest.raises(InputError, match=r"in\.csv, line 6, column 'paused_banner': 'perhaps'"):
        score_file(src, dst, model=sync, strict=True)
    assert not dst.exists()


def test_strict_impossible_names_conflict(strict_model: Model, tmp_path: Path) -> None:
    """--strict on impossible answers names the line, a conflicting column and the answers."""
    src = tmp_path / "in.csv"
    write_csv(src, ["a", "b"], [["yes", "yes"], ["yes", "no"]])
    with pytest.raises(InputError, match=r"line 3, column 'a': impossible evidence.*a=yes, b=no"):
        score_file(src, tmp_path / "out.csv", model=strict_model, strict=True)


def test_interrupted_run_keeps_old_output(
    sync: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure mid-file leaves the previous output untouched and no temporary file."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, ["paused_banner"], [["yes"]] * 5)
    dst.write_text("previous\n")
    calls = {"n": 0}
    original = Scorer.scored

    def failing(self: Scorer, frame: Frame[Output], file: str | None = None) -> Scored[Output]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, frame, file)

    monkeypatch.setattr(Scorer, "scored", failing)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, dst, model=sync, chunk_size=2)
    assert dst.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def assert_same_table(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns and rows; text exact, numbers equal to rounding (writers format floats
    differently: pandas writes 0.0 where pyarrow writes 0)."""
    numbers = [c for c in expected.columns if c.startswith("p_") or c in NUMBERS]
    pd.testing.assert_frame_equal(got.drop(columns=numbers), expected.drop(columns=numbers))
    np.testing.assert_allclose(
        got[numbers].replace("", np.nan).astype(float),
        expected[numbers].replace("", np.nan).astype(float),
        atol=1e-12,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report_files(), st.integers(1, 7))
def test_rows_in_equal_rows_out(
    sync: Model, spec: tuple[list[str], list[list[str] | None]], chunk: int
) -> None:
    """Every record comes out once, in order, its cells unchanged; bad values carry an error.

    The pyarrow reader and writer, and the pandas fallback, give the same table; the fast CSV
    text with round-trip numbers is byte for byte what pyarrow's CSVWriter writes.
    """
    header, rows = spec
    with tempfile.TemporaryDirectory() as folder:
        src, dst = Path(folder) / "in.csv", Path(folder) / "out.csv"
        write_csv(src, header, rows)
        summary = score_file(src, dst, model=sync, chunk_size=chunk, precision=None)
        out = read_back(dst)
        assert not rows or dst.read_bytes() == arrow_writer_bytes(sync, src, chunk)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("syncdx.batch._formats.pyarrow_or_none", lambda: None)
            pandas = Path(folder) / "pandas.csv"
            score_file(src, pandas, model=sync, chunk_size=chunk, precision=None)
        assert_same_table(read_back(pandas), out)
    expected = [row if row is not None else [""] * len(header) for row in rows]
    assert summary.rows == len(out) == len(rows)
    assert out[header].to_numpy().tolist() == expected
    bad = [
        any(
            cell.strip().lower() not in {"", "yes", "no", "true", "y", "0"}
            for name, cell in zip(header, row)
            if name in sync.observations
        )
        for row in expected
    ]
    assert list(out["error"] != "") == bad
    assert summary.errors == sum(bad)


def arrow_writer_bytes(sync: Model, src: Path, chunk: int) -> bytes:
    """`src` scored in chunks as `score_file` does, written by pyarrow's own CSVWriter."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    scorer, sink = Scorer(sync.diagnoser), pa.BufferOutputStream()
    with read_table(str(src), chunk) as chunks:
        scored = [scorer.scored(frame).frame for frame in chunks.frames]
    tables = [out.table() for out in scored if isinstance(out, ScoredTable)]
    assert len(tables) == len(scored)  # every chunk read by Arrow, scored factored
    with pcsv.CSVWriter(sink, tables[0].schema) as writer:
        for table in tables:
            writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_short_record_is_input_error(sync: Model, tmp_path: Path) -> None:
    """With pyarrow, a record with fewer fields than the header is an error at its line."""
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,note,paused_banner\n1,x,yes\n\n2,yes\n")
    with pytest.raises(InputError, match="line 4: Expected 3 fields, saw 2"):
        score_file(src, tmp_path / "out.csv", model=sync)


def test_stdin_stdout_round_trip(
    sync: Model, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """`-` reads CSV from stdin and writes CSV to stdout."""
    stdin = io.TextIOWrapper(io.BytesIO(b"id,paused_banner\n01,yes\n02,\n"))
    monkeypatch.setattr("sys.stdin", stdin)
    score_file("-", "-", model=sync)
    out = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), dtype=object)
    assert list(out["id"]) == ["01", "02"]
    assert "p_stalled_session" in out.columns


def test_csv_without_pyarrow_gives_same_table(
    sync: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyarrow, CSV output (written by pandas) reads back as the same table."""
    src = tmp_path / "in.csv"
    write_csv(src, ["id", "paused_banner"], [["01", "yes"], ["02", "perhaps"], ["03", ""]])
    score_file(src, tmp_path / "arrow.csv", model=sync)
    monkeypatch.setattr("syncdx.batch._formats.pyarrow_or_none", lambda: None)
    score_file(src, tmp_path / "pandas.csv", model=sync)
    assert_same_table(read_back(tmp_path / "pandas.csv"), read_back(tmp_path / "arrow.csv"))


def numbers(values: list[float]) -> Numbers:
    """Memo numbers whose every field is built from `values`."""
    n = len(values)
    return Numbers(np.array(values)[:, None], np.array(values), np.arange(n), np.zeros(n))


def test_memo_finds_what_it_remembers_within_capacity() -> None:
    """The pattern memo returns stored numbers by key; when full it keeps the most used."""
    from syncdx.batch._patterns import Memo

    memo = Memo(capacity=4)
    memo.remember(np.array([30, 10]), numbers([0.3, 0.1]))
    memo.remember(np.array([20]), numbers([0.2]))
    known, found = memo.find(np.array([10, 40, 20, 30]))
    assert list(known) == [True, False, True, True]
    assert found is not None
    assert list(found.log_evidence) == [0.1, 0.2, 0.3]
    memo.find(np.array([30]))  # 30 is now the most used, then 10 (first of the equals)
    memo.remember(np.array([50, 60]), numbers([0.5, 0.6]))
    assert len(memo) == 4
    known, found = memo.find(np.array([10, 20, 30, 50, 60]))
    assert list(known) == [True, False, True, True, True]
    assert found is not None
    assert list(found.log_evidence) == [0.1, 0.3, 0.5, 0.6]
    assert list(found.present[:, 0]) == [0.1, 0.3, 0.5, 0.6]


def test_memo_keeps_the_first_numbers_of_a_key_remembered_twice() -> None:
    """Two threads may infer the same new pattern: the second `remember` of a key is a no-op."""
    from syncdx.batch._patterns import Memo

    memo = Memo(capacity=8)
    memo.remember(np.array([10, 20]), numbers([0.1, 0.2]))
    memo.remember(np.array([20, 30]), numbers([0.25, 0.3]))
    assert len(memo) == 3
    known, found = memo.find(np.array([10, 20, 30]))
    assert known.all()
    assert found is not None
    assert list(found.log_evidence) == [0.1, 0.2, 0.3]


def distinct_answers(model: Model, first: int, rows: int) -> pd.DataFrame:
    """`rows` reports, each a different pattern of yes/no answers: pattern k answers the
    binary digits of `first + k` (so two calls with apart ranges share no pattern)."""
    yes_no = [o for o in model.observations if set(model.states(o)) == {"yes", "no"}]
    bits = (np.arange(first, first + rows)[:, None] >> np.arange(len(yes_no))) & 1
    return pd.DataFrame(np.where(bits == 1, "yes", "no"), columns=yes_no)


def test_memo_keeps_patterns_only_while_they_repeat(sync: Model) -> None:
    """A file's first chunk is remembered; a chunk of patterns all new and each seen once is
    not (nothing suggests it will come back); a chunk that repeats itself is, and its scores
    are those of a fresh scorer every time."""
    scorer = Scorer(sync.diagnoser)
    first, fresh = distinct_answers(sync, 0, 300), distinct_answers(sync, 1000, 300)
    repeated = pd.concat([distinct_answers(sync, 2000, 100)] * 3, ignore_index=True)
    scorer.score(first)
    assert len(scorer._memo) == 300
    pd.testing.assert_frame_equal(scorer.score(fresh), Scorer(sync.diagnoser).score(fresh))
    assert len(scorer._memo) == 300
    pd.testing.assert_frame_equal(scorer.score(repeated), Scorer(sync.diagnoser).score(repeated))
    assert len(scorer._memo) == 400
    pd.testing.assert_frame_equal(scorer.score(first), Scorer(sync.diagnoser).score(first))


def test_threads_sharing_a_scorer_get_the_same_scores(
    sync: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One scorer used by several threads at once (as Dask's threaded workers do) scores every
    chunk as a scorer of its own would: its memo is not corrupted by concurrent chunks."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from syncdx.batch._patterns import Memo

    index = Memo._index

    def slow_index(memo: Memo, keys: np.ndarray, slots: np.ndarray) -> None:
        time.sleep(0.002)  # widen the window in which another thread could write the same slots
        index(memo, keys, slots)

    monkeypatch.setattr(Memo, "_index", slow_index)
    frame = pd.read_csv(SAMPLE, dtype=object, keep_default_na=False)
    chunks = [frame.iloc[start : start + 25] for start in range(0, len(frame), 25)] * 3
    expected = [Scorer(sync.diagnoser).score(chunk) for chunk in chunks]
    shared = Scorer(sync.diagnoser)
    with ThreadPoolExecutor(4) as threads:
        got = list(threads.map(shared.score, chunks))
    for a, b in zip(got, expected):
        pd.testing.assert_frame_equal(a, b)


@pytest.fixture(params=["pyarrow", "pandas"])
def csv_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each CSV reading path: pyarrow's, and pandas' (the fallback without pyarrow)."""
    if request.param == "pandas":
        monkeypatch.setattr("syncdx.batch._formats.pyarrow_or_none", lambda: None)
    return str(request.param)


@pytest.mark.parametrize(
    "content",
    [
        b'id,screen 5",paused_banner\n1,a,yes\n2,b,no\n3,c,\n',
        b"id,note,paused_banner\r1,a,yes\r2,b,no\r3,c,\r",
        b'id,"no\rte",paused_banner\r\n1,a,yes\r2,b,no\n3,c,\r\n',
    ],
    ids=["quote-in-name", "cr", "mixed"],
)
def test_every_record_is_scored_whatever_the_header_or_line_endings(
    sync: Model, tmp_path: Path, csv_reader: str, content: bytes
) -> None:
    """A quote inside a header name and CR-only (or mixed) line endings lose no row."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(content)
    summary = score_file(src, dst, model=sync)
    out = read_back(dst)
    assert summary.rows == len(out) == 3
    assert list(out.iloc[:, 0]) == ["1", "2", "3"]
    assert list(out["paused_banner"]) == ["yes", "no", ""]


def test_strict_counts_cr_line_endings(sync: Model, tmp_path: Path, csv_reader: str) -> None:
    """--strict names the physical line in a file whose lines end in CR alone."""
    src = tmp_path / "in.csv"
    src.write_bytes(b'id,paused_banner\r1,yes\r"2\r",no\r3,perhaps\r')
    with pytest.raises(InputError, match=r"in\.csv, line 5, column 'paused_banner': 'perhaps'"):
        score_file(src, tmp_path / "out.csv", model=sync, strict=True)


def test_unterminated_quote_in_header_is_input_error(sync: Model, tmp_path: Path) -> None:
    """A header whose quote never closes is an error, not a header that swallows the file."""
    src = tmp_path / "in.csv"
    src.write_bytes(b'id,"note,paused_banner\n1,a,yes\n')
    with pytest.raises(InputError, match="line 1: unreadable header: unexpected end of data"):
        score_file(src, tmp_path / "out.csv", model=sync)


@pytest.mark.parametrize(
    ("last", "message"),
    [("3,z,perhaps", "line 4, column 'paused_banner': 'perhaps'"), ("3,z", "line 4: Expected 3")],
)
def test_fields_longer_than_the_csv_module_limit_are_located(
    sync: Model, tmp_path: Path, last: str, message: str
) -> None:
    """Lines are found past fields over the csv module's 128 KiB default limit."""
    src = tmp_path / "in.csv"
    long = "x" * (200 * 1024)
    src.write_text(f"id,note,paused_banner\n1,{long},yes\n2,{long},no\n{last}\n")
    with pytest.raises(InputError, match=message):
        score_file(src, tmp_path / "out.csv", model=sync, strict=True)


def test_unterminated_quote_is_named(sync: Model, tmp_path: Path) -> None:
    """A quote that runs to the end of the file is reported as a likely unterminated quote."""
    src = tmp_path / "in.csv"
    src.write_bytes(b'id,note,paused_banner\n1,x,yes\n2,"unterminated,no\n3,z,yes\n')
    with pytest.raises(InputError, match=r"line 3: unterminated quote"):
        score_file(src, tmp_path / "out.csv", model=sync)


def test_pandas_path_reports_invalid_utf8_in_the_first_block(
    sync: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyarrow, a non-UTF-8 byte near the start is an InputError, not a traceback."""
    monkeypatch.setattr("syncdx.batch._formats.pyarrow_or_none", lambda: None)
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,paused_banner\ncaf\xe9,yes\n")
    with pytest.raises(InputError, match=r"in\.csv, line 2: not UTF-8 text"):
        score_file(src, tmp_path / "out.csv", model=sync)


def test_columns_match_observations_whatever_case_and_spaces(sync: Model) -> None:
    """`Paused_Banner` and ` internet_works ` are evidence; the input columns stay as named."""
    frame = pd.DataFrame({"Paused_Banner": ["yes"], " internet_works ": ["no"]})
    out = sync.score(frame)
    assert list(out.columns[:2]) == ["Paused_Banner", " internet_works "]
    expected = sync.posterior({"paused_banner": "yes", "internet_works": "no"})
    assert out.loc[0, "p_stalled_session"] == pytest.approx(expected["stalled_session"])


def test_impossible_row_names_the_column_as_spelled(strict_model: Model) -> None:
    """The column at fault in an impossible row is the input's column, not the node id."""
    frame = PandasFrame(pd.DataFrame({" A": ["yes"], "b": ["no"]}))
    scored = Scorer(strict_model.diagnoser).scored(frame)
    assert scored.culprit[0] in {" A", "b"}
    assert "a=yes, b=no" in scored.error[0]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["Paused_Banner", " paused_banner"], "columns 'Paused_Banner' and ' paused_banner' both"),
        (["ticket", "pasued_banner"], r"\(close: 'pasued_banner' for 'paused_banner'\)"),
    ],
)
def test_column_name_problems_are_explained(sync: Model, columns: list[str], message: str) -> None:
    """Two spellings of one observation, or only near misses, are InputErrors saying so."""
    with pytest.raises(InputError, match=message):
        sync.score(pd.DataFrame([["yes"] * len(columns)], columns=columns))


def test_log_evidence_is_never_positive(sync: Model) -> None:
    """log P(answers) of a blank row is 0, not a rounding error above it."""
    columns = ["paused_banner", "internet_works", "storage_full_alert"]
    frame = pd.DataFrame({c: [None, "yes"] for c in columns})
    assert sync.score(frame)["log_evidence"].tolist()[0] == 0.0


def test_error_is_missing_for_good_rows_in_memory_and_read_back(
    sync: Model, tmp_path: Path
) -> None:
    """`error.notna()` picks the bad rows of a scored frame and of a scored CSV read back."""
    frame = pd.DataFrame({"paused_banner": ["yes", "perhaps", ""]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    score_file(tmp_path / "in.csv", tmp_path / "out.csv", model=sync)
    read = pd.read_csv(tmp_path / "out.csv")
    assert list(sync.score(frame)["error"].notna()) == list(read["error"].notna())
    assert list(read["error"].notna()) == [False, True, False]


@pytest.mark.parametrize(("top", "kind"), [(1.5, TypeError), ("2", TypeError), (-1, ValueError)])
def test_top_must_be_a_non_negative_integer(sync: Model, top: object, kind: type) -> None:
    """A bad `top` is a clear error naming the argument, not a failure deep in the scorer."""
    with pytest.raises(kind, match=f"top must be a non-negative integer, got {top!r}"):
        sync.score(pd.DataFrame({"paused_banner": ["yes"]}), top=top)  # type: ignore[arg-type]


def test_replaced_output_keeps_its_mode_and_symlink(sync: Model, tmp_path: Path) -> None:
    """Replacing a chmod 600 file keeps 600; through a symbolic link, the link stays a link."""
    src, real, link = tmp_path / "in.csv", tmp_path / "real.csv", tmp_path / "link.csv"
    write_csv(src, ["paused_banner"], [["yes"]])
    real.write_text("previous\n")
    real.chmod(0o600)
    link.symlink_to(real)
    score_file(src, link, model=sync)
    assert link.is_symlink()
    assert real.stat().st_mode & 0o777 == 0o600
    assert read_back(real)["paused_banner"].tolist() == ["yes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "link.csv", "real.csv"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.csv", b"id,paused_banner,,\n1,yes,,\n", r"in\.csv, line 1: columns 3, 4 have no name"),
        ("in.parquet", None, r"in\.parquet, column 'id': duplicate column"),
    ],
)
def test_header_problems_name_where_they_are(
    sync: Model, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    """Unnamed columns are explained; a Parquet file's duplicate is a column, not a line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / name
    if content is None:
        pq.write_table(pa.table([["1"], ["yes"], ["2"]], names=["id", "paused_banner", "id"]), src)
    else:
        src.write_bytes(content)
    with pytest.raises(InputError, match=message):
        score_file(src, tmp_path / "out.csv", model=sync)


def test_nested_parquet_columns_cannot_go_to_csv(sync: Model, tmp_path: Path) -> None:
    """List or struct columns are an InputError naming the output and column when CSV is asked."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src, dst = tmp_path / "in.parquet", tmp_path / "out.csv"
    pq.write_table(pa.table({"paused_banner": ["yes"], "tags": [[1, 2]]}), src)
    with pytest.raises(InputError, match=r"out\.csv, column 'tags': list<.*> values cannot be"):
        score_file(src, dst, model=sync)
    assert not dst.exists()
    score_file(src, tmp_path / "out.parquet", model=sync)
    assert pd.read_parquet(tmp_path / "out.parquet")["tags"].map(list).tolist() == [[1, 2]]


def test_bad_cells_show_plain_values_and_ambiguity() -> None:
    """The error column shows a numpy value as Python shows it, and says when a value matches
    two states that differ only in case."""
    yes_no = Variable("q", ("yes", "no"))
    assert (
        _bad_cell(yes_no, "Q", np.float64(2.0)) == "column 'Q': 2 is not a state; allowed: yes, no"
    )
    cased = Variable("a", ("on", "ON", "off"))
    assert _bad_cell(cased, "a", "On") == (
        "column 'a': 'On' is ambiguous: the states on, ON differ only in case; spell the one "
        "meant exactly"
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(answer_cells, max_size=12), st.data())
def test_pandas_and_arrow_frames_agree(cells: list[str], data: st.DataObject) -> None:
    """The same column of text, as a DataFrame or an Arrow table, has the same columns, length,
    state codes and cells: the scorer sees one table whichever library holds it."""
    import pyarrow as pa

    variable = Variable("paused_banner", ("yes", "no"), "observation")
    frame = pd.DataFrame({"paused_banner": pd.Series(cells, dtype=object), "note": "x"})
    pandas_view = PandasFrame(frame)
    arrow_view = ArrowFrame(pa.Table.from_pandas(frame, preserve_index=False))
    rows = np.asarray(data.draw(st.lists(st.integers(0, max(len(cells) - 1, 0)))), np.intp)
    rows = rows if cells else rows[:0]
    assert pandas_view.columns == arrow_view.columns == ("paused_banner", "note")
    assert len(pandas_view) == len(arrow_view) == len(cells)
    np.testing.assert_array_equal(
        pandas_view.codes(variable, "paused_banner", UNKNOWN_WORDS),
        arrow_view.codes(variable, "paused_banner", UNKNOWN_WORDS),
    )
    assert pandas_view.cells("paused_banner", rows).tolist() == [cells[r] for r in rows]
    assert arrow_view.cells("paused_banner", rows).tolist() == [cells[r] for r in rows]
    pd.testing.assert_frame_equal(arrow_view.to_pandas().astype(object), frame.astype(object))
