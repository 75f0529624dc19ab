"""The small commands and options: --version, describe, check, posterior --top, suggestions
for misspelt names, one exit code for every missing extra."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

import syncdx
from syncdx.cli._main import main


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`syncdx --version` prints the package version."""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"syncdx {syncdx.__version__}"


def test_describe_lists_causes_questions_with_states_and_actions() -> None:
    """describe names every cause, question (with its states) and action (id and text)."""
    code, text = _run("describe")
    assert code == 0
    model = syncdx.load_model()
    for cause in model.causes:
        assert f"  {cause} " in text
    assert "  paused_banner  [yes / no]" in text
    for action in model.network.actions:
        assert f"  {action.id}  {action.cost:g} min" in text
        assert action.text in text
    assert "contact_apple_support  60 min  (last resort)" in text


def test_check_prints_the_summary_and_warnings(tmp_path: Path) -> None:
    """check on a valid model: its counts and no warnings, exit 0; an invalid one: exit 3."""
    code, text = _run("check", str(syncdx.shipped_model_path()))
    assert code == 0
    assert "valid model 'icloud_sync'" in text
    assert "17 causes, 25 questions, 16 actions" in text
    assert "0 warnings" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("syncdx_model: 1\nname: x\ncauses: []\n")
    assert _run("check", str(bad))[0] == 3


@pytest.mark.parametrize("top", ["0", "-1", "x"])
def test_posterior_top_must_be_positive(top: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--top 0 and --top -1 are usage errors, not a traceback or a dropped cause."""
    with pytest.raises(SystemExit) as info:
        main(["posterior", "--top", top])
    assert info.value.code == 2
    assert "argument --top" in capsys.readouterr().err


def test_unknown_node_and_state_suggest_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt node or state names the closest, not all 44 nodes."""
    assert _run("posterior", "paused_baner=yes")[0] == 2
    error = capsys.readouterr().err
    assert "unknown node 'paused_baner'; did you mean 'paused_banner'?" in error
    assert "stalled_session" not in error
    assert _run("posterior", "paused_banner=yse")[0] == 2
    assert "(did you mean 'yes'?)" in capsys.readouterr().err


def test_every_missing_extra_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """diagnose without rich and score to Parquet without pyarrow both exit 1, saying what to
    pip install."""
    monkeypatch.setitem(sys.modules, "rich.console", None)
    assert _run("diagnose")[0] == 1
    assert "pip install rich" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    src = tmp_path / "in.csv"
    src.write_text("paused_banner\nyes\n")
    code, _ = _run("score", str(src), "-o", str(tmp_path / "out.parquet"), "--quiet")
    assert code == 1
    assert "pip install pyarrow" in capsys.readouterr().err


def test_unknown_words_option(capsys: pytest.CaptureFixture[str]) -> None:
    """`syncdx --unknown-words maybe,idk` makes those words the model's "don't know" words for
    the command (the usual ones are answers that are not states again); the library's
    defaults are untouched."""
    code, text = _run("--unknown-words", "maybe,idk", "posterior", "paused_banner=idk")
    assert code == 0
    assert "paused_banner=idk" in text
    assert _run("--unknown-words", "maybe", "posterior", "paused_banner=not sure")[0] == 2
    assert "'not sure' is not a state" in capsys.readouterr().err
    assert syncdx.load_model().unknown_words == syncdx.UNKNOWN_WORDS
    code, text = _run("--unknown-words", "idk", "describe")
    assert code == 0
