"""The session widget: its Python state machine, and its page drawn by a real headless chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import syncdx
from syncdx import Model, SessionError
from syncdx._widget import Board, standalone_html
from syncdx._widget_esm import ESM

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


def test_every_question_starts_unknown_with_its_answers(sync: Model) -> None:
    """The view lists every question with its states, unanswered, and every repair untried."""
    view = Board(sync).view()
    assert [q["id"] for q in view["questions"]] == list(sync.observations)
    assert all(q["answer"] == "" for q in view["questions"])
    assert view["questions"][0]["states"] == list(sync.states(sync.observations[0]))
    assert [a["id"] for a in view["actions"]] == list(sync.actions.index)
    assert not any(a["failed"] for a in view["actions"])
    assert view["history"] == 0


def test_answers_move_the_bars_as_the_model_says(sync: Model) -> None:
    """After answers, the bars are the model's posterior (most probable first, full precision
    in `p`, rounded in `label`), the next question is unanswered and the step is the plan's."""
    board = Board(sync)
    board.answer("storage_full_alert", "yes")
    board.answer("paused_banner", "yes")
    view = board.view()
    posterior = sync.posterior({"storage_full_alert": "yes", "paused_banner": "yes"})
    assert [b["id"] for b in view["posterior"]] == list(posterior.index[: len(view["posterior"])])
    assert view["posterior"][0]["p"] == pytest.approx(float(posterior.iloc[0]), rel=1e-12)
    assert view["question"]["id"] not in ("storage_full_alert", "paused_banner")
    assert view["step"]["id"] == board.session.plan().id
    assert [r["finding"] for r in view["explanation"]["rows"]] == [
        "storage_full_alert",
        "paused_banner",
    ]


def test_unknown_undo_and_reset(sync: Model) -> None:
    """Choosing "unknown" removes an answer; undo takes back the last change (an answer
    replaced comes back); reset forgets everything; undo with nothing is a SessionError."""
    board = Board(sync)
    board.answer("paused_banner", "yes")
    board.answer("internet_works", "no")
    board.answer("paused_banner", "no")
    assert board.session.evidence == {"paused_banner": "no", "internet_works": "no"}
    board.undo()
    assert board.session.evidence == {"paused_banner": "yes", "internet_works": "no"}
    board.answer("paused_banner", None)
    assert board.session.evidence == {"internet_works": "no"}
    board.reset()
    assert board.session.evidence == {}
    with pytest.raises(SessionError, match="nothing to undo"):
        board.undo()


def test_repairs_marked_tried_not_fixed_lower_their_causes(sync: Model) -> None:
    """Marking a repair "tried, not fixed" enters it as a failure (once), lowering the causes it
    fixes; unmarking takes it out."""
    board = Board(sync)
    before = board.session.posterior["stalled_session"]
    board.mark_failed("restart_device")
    board.mark_failed("restart_device")
    assert board.session.failed == ("restart_device",)
    assert board.session.posterior["stalled_session"] < before
    assert [a["id"] for a in board.view()["actions"] if a["failed"]] == ["restart_device"]
    board.mark_failed("restart_device", failed=False)
    assert not board.session.failed


def test_messages_from_the_page_and_refused_changes(sync: Model) -> None:
    """Front-end messages drive the board; a refused change (an unknown state) leaves the
    answers as they were and its message in the view."""
    board = Board(sync)
    board.handle({"kind": "answer", "id": "paused_banner", "value": "yes"})
    board.handle({"kind": "failed", "id": "restart_device", "value": True})
    board.handle({"kind": "answer", "id": "paused_banner", "value": "perhaps"})
    assert board.session.evidence == {"paused_banner": "yes"}
    assert "perhaps" in board.view()["error"]
    board.handle({"kind": "undo"})
    assert board.session.failed == ()
    board.handle({"kind": "reset"})
    assert board.view()["history"] == 0


def test_widget_is_an_anywidget_holding_the_board(sync: Model) -> None:
    """syncdx.widget builds the anywidget, whose synced view follows the board's messages."""
    pytest.importorskip("anywidget")
    shown = syncdx.widget(sync)
    shown._on_message(shown, {"kind": "answer", "id": "paused_banner", "value": "yes"}, [])
    assert shown.view["questions"][0]["answer"] == "yes"
    assert shown.view["step"] is not None
    assert shown.board.session.evidence == {"paused_banner": "yes"}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_widget_page_renders_in_headless_chromium(sync: Model, tmp_path: Path) -> None:
    """The widget's JavaScript draws the questions, the bars and the explanation in a real
    browser: the DOM holds them and the screenshot is not blank."""
    board = Board(sync)
    board.answer("paused_banner", "yes")
    board.mark_failed("restart_device")
    page = tmp_path / "widget.html"
    page.write_text(standalone_html(board.view(), ESM), encoding="utf-8")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
        "--virtual-time-budget=3000",
    ]  # fmt: skip
    dom = subprocess.run(
        [*command, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout.split("<script")[0]  # what the page drew, not the script that drew it
    assert dom.count("<select data-question=") == len(sync.observations)
    assert dom.count('class="fill"') == len(board.view()["posterior"])
    assert "Next troubleshooting step" in dom
    assert "paused_banner = yes" in dom
    png = tmp_path / "widget.png"
    subprocess.run([*command, f"--screenshot={png}", page.as_uri()], capture_output=True,
                   timeout=120, check=True)  # fmt: skip
    pixels = _pixels(png)
    assert pixels.shape[:2] == (900, 1200)
    assert pixels.std() > 20  # text and bars, not a blank page


def _pixels(png: Path) -> np.ndarray:
    plt = pytest.importorskip("matplotlib.pyplot")
    return np.asarray(plt.imread(png)) * 255.0
