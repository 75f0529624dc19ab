"""`syncdx diagnose`: the scripted dialogue, its commands, and its failure modes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import syncdx
from syncdx import Session
from syncdx.cli import main
from syncdx.diagnose import Dialogue
from syncdx.display import percent
from syncdx.sampling import sample


def _run(tmp_path: Path, replies: list[str]) -> tuple[int, str]:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(replies), encoding="utf-8")
    out = io.StringIO()
    code = main(["diagnose", "--answers", str(path)], stdout=out)
    return code, out.getvalue()


def test_bad_answer_is_asked_again(tmp_path: Path) -> None:
    """A reply that is not an allowed answer is reported and the same question is re-asked."""
    code, text = _run(tmp_path, ["maybe", "yes", "quit"])
    assert code == 0
    first = text.index("Question (1 min): Does the device warn that iCloud storage is full")
    assert "Not an answer: 'maybe' is not a state of 'storage_full_alert'" in text
    assert text.count("iCloud storage is full", first) == 1  # asked once, prompted twice
    assert text.count("[yes / no] > ") >= 2
    assert "icloud_storage_full   80.4%" in text


def test_why_undo_and_skip(tmp_path: Path) -> None:
    """`why` names the targeted causes, `undo` reverts the answer, `skip` moves on."""
    code, text = _run(tmp_path, ["why", "yes", "undo", "skip", "quit"])
    assert code == 0
    assert "Why: it targets icloud_storage_full (12%)" in text
    assert "Undone: answer storage_full_alert yes" in text
    after_skip = text.split("> skip")[1]
    assert "iCloud storage is full" not in after_skip


def _dialogue_at_an_action(replies: list[str]) -> tuple[int, str]:
    """Run the dialogue from a session where every question is answered (so the step acts)."""
    from rich.console import Console

    model = syncdx.load_model()
    session = Session(model)
    case = sample(model.network, 1, np.random.default_rng(3))[0]
    for node in model.observations:
        session.answer(node, model.states(node)[case[model.network.index[node]]])
    out = io.StringIO()
    console = Console(file=out, width=100, markup=False)
    code = Dialogue(session, console, iter(replies)).run()
    return code, out.getvalue()


def test_confirmed_fix_ends_the_session() -> None:
    """Answering "yes" to "did it fix it?" ends the dialogue naming the fixing action."""
    code, text = _dialogue_at_an_action(["yes"])
    assert code == 0
    assert "Did it fix it? [yes / no] > yes" in text
    assert text.rstrip().endswith("Done.")
    assert "Fixed by " in text


def test_action_needs_yes_or_no() -> None:
    """An action's reply other than yes/no is re-asked; "no" moves on to another step."""
    code, text = _dialogue_at_an_action(["perhaps", "no", "quit"])
    assert code == 0
    assert "Please answer yes or no." in text
    tried = text.split("Try (")
    assert len(tried) >= 3  # the first action (asked twice in one turn), then the next one
    assert tried[1].split(")")[1] != tried[2].split(")")[1]


def test_last_resort_ends_the_session(tmp_path: Path) -> None:
    """When every other step is skipped or failed, the last resort is suggested and ends it."""
    code, text = _run(tmp_path, ["skip"] * 60)
    assert code == 0
    assert "Last resort: Contact Apple Support (about 60 min)." in text


def test_replies_from_stdin_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --answers, replies are read line by line from a non-terminal stdin."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))
    out = io.StringIO()
    assert main(["diagnose"], stdout=out) == 0
    text = out.getvalue()
    assert "> no" in text
    assert "No more replies; stopping." in text


def test_missing_rich_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without rich the command prints the pip command and fails."""
    monkeypatch.setitem(sys.modules, "rich.console", None)
    code, text = _run(tmp_path, [])
    assert code == 1
    assert "pip install 'syncdx[cli]'" in text


def test_unreadable_answers_file_is_an_input_error(tmp_path: Path) -> None:
    """A missing or malformed --answers file exits with the input error code."""
    assert main(["diagnose", "--answers", str(tmp_path / "none.json")], stdout=io.StringIO()) == 4
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}', encoding="utf-8")
    assert main(["diagnose", "--answers", str(bad)], stdout=io.StringIO()) == 4


def test_interactive_prompt_shows_the_allowed_answers() -> None:
    """At a terminal, the prompt lists the answers verbatim (brackets are not rich markup)."""
    from rich.console import Console

    prompts: list[tuple[str, bool]] = []

    class Terminal(Console):
        def input(self, prompt: object = "", *, markup: bool = True, **kwargs: object) -> str:
            prompts.append((str(prompt), markup))
            return "quit"

    Dialogue(Session(syncdx.load_model()), Terminal(file=io.StringIO()), None).run()
    assert prompts == [("[yes / no] > ", False)]


def test_percentages_never_round_to_a_false_certainty() -> None:
    """A possible but unlikely cause reads "<1%" (not "0%"), an almost sure one ">99%"."""
    shown = [percent(p) for p in (0.0, 0.003, 0.005, 0.12, 0.996, 1.0)]
    assert shown == ["0%", "<1%", "<1%", "12%", ">99%", "100%"]


def test_last_resort_why_has_no_false_zero(tmp_path: Path) -> None:
    """The last resort names causes it targets explicitly even when unlikely: as "<1%"."""
    code, text = _run(tmp_path, ["no"] * 60)  # every check fine, every fix fails
    assert code == 0
    why = text.split("Last resort:")[1]
    assert "account_restricted (<1%)" in why
    assert "(0%)" not in why
