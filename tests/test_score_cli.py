"""The `syncdx score` command, run in-process: outputs, summary, exit codes, messages."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest

import syncdx
from syncdx import UNKNOWN_WORDS, cli
from syncdx.cli._score import progress_bar

SAMPLE = Path(__file__).resolve().parent.parent / "models" / "icloud_sync.reports.csv"


def run(argv: list[str]) -> tuple[int, str]:
    """Exit code and stdout text of `syncdx ARGV`."""
    out = io.StringIO()
    return cli.main(argv, stdout=out), out.getvalue()


def test_sample_reports_score_with_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped sample scores row for row, its bad rows flagged ("not sure" and "maybe"
    are no evidence, not errors: no error names a "don't know" word), with a summary table;
    the one-line summary on stderr counts the errors and the undetermined rows, which the
    `undetermined` column flags."""
    dst = tmp_path / "scores.csv"
    code, text = run(["score", str(SAMPLE), "-o", str(dst), "--summary"])
    assert code == 0
    source = pd.read_csv(SAMPLE, dtype=object, keep_default_na=False)
    scored = pd.read_csv(dst, dtype=object, keep_default_na=False)
    pd.testing.assert_frame_equal(scored[source.columns], source)
    assert (scored["error"] != "").sum() == 5
    for word in UNKNOWN_WORDS:
        assert not scored["error"].str.contains(f"'{word}'", regex=False).any()
    assert f"scored {len(source)} rows" in text
    assert "5 with errors" in text
    assert "top cause" in text
    undetermined = int((scored["undetermined"] == "yes").sum())
    assert 0 < undetermined < len(source)
    err = capsys.readouterr().err  # no progress bar when stderr is not a terminal
    assert err == (
        f"syncdx: scored 400 rows, 5 with errors (see the error column of {dst}), "
        f"{undetermined} undetermined (top cause within 0.05 of its prior); wrote {dst} in "
        + err.split(" in ")[-1]
    )
    assert err.count("\n") == 1


def test_sample_reports_have_realistic_content() -> None:
    """The sample has ids, free text with commas and quotes, dates, varied yes/no spellings."""
    sample = pd.read_csv(SAMPLE, dtype=object, keep_default_na=False)
    assert len(sample) == 400
    assert sample["ticket"].str.fullmatch(r"T-\d{6}").all()
    assert sample["customer_note"].str.contains(",").any()
    assert sample["customer_note"].str.contains('"').any()
    assert {"Yes", "no", "TRUE", "y"} <= set(sample["paused_banner"]) | set(
        sample["internet_works"]
    )
    assert pd.to_datetime(sample["received_at"]).is_monotonic_increasing


def test_stdout_is_default_output(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """Without -o the scores go to stdout as CSV, the summary to stderr."""
    code = cli.main(["score", str(SAMPLE), "--top", "1", "--summary"])
    captured = capsysbinary.readouterr()
    scored = pd.read_csv(io.BytesIO(captured.out), dtype=object, keep_default_na=False)
    assert code == 0
    assert len(scored) == 400
    assert "top_1" in scored.columns
    assert "top_2" not in scored.columns
    assert b"scored 400 rows" in captured.err


def test_parquet_output_and_next_question(tmp_path: Path) -> None:
    """Parquet output by extension; --next-question adds the question and its gain."""
    dst = tmp_path / "scores.parquet"
    code, _ = run(["score", str(SAMPLE), "-o", str(dst), "--next-question", "--chunk-size", "64"])
    scored = pd.read_parquet(dst)
    assert code == 0
    assert len(scored) == 400
    ok = scored["error"].isna()
    assert scored.loc[ok, "next_question"].notna().all()
    assert (scored.loc[ok, "next_question_gain"] > 0).all()
    assert scored.loc[~ok, "next_question"].isna().all()


def test_strict_stops_with_file_line_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--strict exits 4 at the first bad row, naming file, physical line and column."""
    dst = tmp_path / "scores.csv"
    code, _ = run(["score", str(SAMPLE), "-o", str(dst), "--strict"])
    err = capsys.readouterr().err
    assert code == 4
    assert "icloud_sync.reports.csv, line 141, column 'storage_full_alert': 'yes?'" in err
    assert "Traceback" not in err
    assert not dst.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ticket,note\n1,x\n", "no column is named after an observation"),
        ("paused_banner,paused_banner\nyes,no\n", "duplicate column"),
    ],
)
def test_bad_files_exit_4_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    """A file the scorer cannot use is a one-line error and exit code 4."""
    src = tmp_path / "in.csv"
    src.write_text(content)
    code, _ = run(["score", str(src), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 4
    assert err.startswith("syncdx: error: ")
    assert message in err


@pytest.mark.parametrize("argv", [["--top", "-1"], ["--chunk-size", "0"], ["--engine", "spark"]])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Out-of-range options are rejected by the parser."""
    with pytest.raises(SystemExit) as info:
        cli.main(["score", str(SAMPLE), *argv])
    assert info.value.code == 2
    assert "score: error" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress callback exists when stderr is a terminal, and is None otherwise."""
    with progress_bar() as progress:
        assert progress is None
    terminal = io.StringIO()
    monkeypatch.setattr(terminal, "isatty", lambda: True)
    monkeypatch.setattr("sys.stderr", terminal)
    with progress_bar() as progress:
        assert progress is not None
        progress(10, 20)
        progress(20, 20)


def test_strict_on_stdin_names_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On stdin too, --strict names the line (found while reading, counting quoted breaks)."""
    data = b'note,paused_banner\n"two\nlines",yes\nx,perhaps\n'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, _ = run(["score", "-", "-o", "-", "--strict"])
    assert code == 4
    assert "<stdin>, line 4, column 'paused_banner': 'perhaps' is not" in capsys.readouterr().err


def test_stdout_output_stopped_midway_says_it_is_partial(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """On stdout, rows already written cannot be taken back: exit 4 says how many there are."""
    src = tmp_path / "in.csv"
    src.write_text("id,paused_banner\n1,yes\n2,no\n3,perhaps\n")
    code = cli.main(["score", str(src), "--strict", "--chunk-size", "2"])
    captured = capsysbinary.readouterr()
    assert code == 4
    assert len(pd.read_csv(io.BytesIO(captured.out))) == 2
    assert captured.err.endswith(
        b"'perhaps' is not a state; allowed: yes, no; 2 rows were already "
        b"written to stdout: partial\n"
    )


def test_closed_stdout_pipe_exits_quietly(tmp_path: Path) -> None:
    """`syncdx ... | head -1`: no traceback when the reader goes away, exit code 141."""
    import subprocess
    import sys

    src = tmp_path / "in.csv"
    src.write_text("id,paused_banner\n" + "1,yes\n" * 200_000)
    command = [sys.executable, "-m", "syncdx", "score", str(src), "--chunk-size", "1000"]
    run = subprocess.run(
        f"{subprocess.list2cmdline(command)} | head -c 10 >/dev/null; echo $PIPESTATUS",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).parent.parent)},
        executable="/bin/bash",
    )
    assert run.stderr == ""
    assert run.stdout.strip() == "141"


def test_sigterm_removes_the_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM mid-run exits 143 and leaves the old output, like Ctrl-C, without a .part file."""
    import signal

    from syncdx.batch._frames import Frame, Output
    from syncdx.batch._scorer import Scored, Scorer

    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("paused_banner\n" + "yes\n" * 10)
    dst.write_text("previous\n")
    original, handler = Scorer.scored, signal.getsignal(signal.SIGTERM)

    def terminated(self: Scorer, frame: Frame[Output], file: str | None = None) -> Scored[Output]:
        signal.raise_signal(signal.SIGTERM)
        return original(self, frame, file)

    monkeypatch.setattr(Scorer, "scored", terminated)
    with pytest.raises(SystemExit) as info:
        cli.main(["score", str(src), "-o", str(dst), "--chunk-size", "2"])
    assert info.value.code == 143
    assert dst.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    assert signal.getsignal(signal.SIGTERM) is handler


def test_quiet_silences_the_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--quiet prints nothing at the end."""
    code, _ = run(["score", str(SAMPLE), "-o", str(tmp_path / "s.csv"), "--quiet"])
    assert code == 0
    assert capsys.readouterr().err == ""


def test_column_names_match_whatever_their_spacing_and_a_near_miss_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`Paused Banner` and `INTERNET-works` are observations; `storage full alrt` is a near
    miss: carried through, with a warning that suggests the observation."""
    src = tmp_path / "in.csv"
    src.write_text("Paused Banner,INTERNET-works,storage full alrt\nyes,no,yes\n")
    dst = tmp_path / "out.csv"
    code, _ = run(["score", str(src), "-o", str(dst), "--quiet"])
    assert code == 0
    scored = pd.read_csv(dst)
    expected = syncdx.load_model().posterior({"paused_banner": "yes", "internet_works": "no"})
    assert scored["top_cause"][0] == expected.index[0]
    err = capsys.readouterr().err
    assert "syncdx: warning: column 'storage full alrt'" in err
    assert "did you mean 'storage_full_alert'?" in err


def test_min_lift_flags_rows_near_the_prior(tmp_path: Path) -> None:
    """A blank row is undetermined at any positive margin; a telling row is not; --min-lift 0
    flags nothing."""
    src = tmp_path / "in.csv"
    src.write_text("id,storage_full_alert\n1,\n2,yes\n")
    dst = tmp_path / "out.csv"
    assert run(["score", str(src), "-o", str(dst), "--quiet"])[0] == 0
    assert pd.read_csv(dst)["undetermined"].tolist() == ["yes", "no"]
    assert run(["score", str(src), "-o", str(dst), "--quiet", "--min-lift", "0"])[0] == 0
    assert pd.read_csv(dst)["undetermined"].tolist() == ["no", "no"]


@pytest.mark.parametrize("value", ["-0.1", "2", "x"])
def test_min_lift_is_a_probability(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--min-lift outside [0, 1] is a usage error."""
    with pytest.raises(SystemExit):
        run(["score", str(SAMPLE), "--min-lift", value])
    assert "expected a number from 0 to 1" in capsys.readouterr().err


def test_rows_are_estimated_from_the_bytes_of_a_csv(tmp_path: Path) -> None:
    """A CSV's rows are estimated from its size and its first block; stdin has no estimate."""
    from syncdx.cli._score import estimate_rows, rows_text

    src = tmp_path / "in.csv"
    src.write_text("id,paused_banner\n" + "".join(f"{i},yes\n" for i in range(20_000)))
    estimate = estimate_rows(str(src))
    assert estimate is not None
    assert abs(estimate - 20_000) < 2_000
    assert estimate_rows("-") is None
    assert rows_text(10, 4000, estimated=True) == "10/~4,000 rows"
    assert rows_text(10, None, estimated=True) == "10 rows"
