"""`syncdx diagnose`: the scripted dialogue, its commands, and its failure modes."""

from __future__ import annotations

import io
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import syncdx
from syncdx import ImpossibleEvidenceError, Session
from syncdx.cli._diagnose import OUT_OF_REPLIES, Dialogue, _refusal, console_width
from syncdx.cli._dialogue import Proposal
from syncdx.cli._display import percent
from syncdx.cli._main import main
from syncdx.diagnosis._history import Entry
from syncdx.network._bif import bundled_network
from syncdx.network._sampling import sample


def _run(tmp_path: Path, replies: list[str], *options: str, ids: bool = True) -> tuple[int, str]:
    """The exit code and the transcript (up to the summary) of a scripted dialogue."""
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(replies), encoding="utf-8")
    out = io.StringIO()
    flags = ["--ids"] if ids else []
    code = main(["diagnose", "--answers", str(path), *flags, *options], stdout=out)
    return code, out.getvalue().split("\nSummary\n")[0]


def test_bad_answer_is_asked_again(tmp_path: Path) -> None:
    """A reply that is not an allowed answer is reported and the same question is re-asked."""
    code, text = _run(tmp_path, ["perhaps", "yes", "quit"])
    assert code == 0
    first = text.index("Question (1 min): Does the device warn that iCloud storage is full")
    assert "Not an answer: 'perhaps' is not a state of 'storage_full_alert'" in text
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
    assert after_skip.startswith("\nSkipped: storage_full_alert\n")
    assert "iCloud storage is full" not in after_skip


def test_why_after_replies_weighs_each_reply(tmp_path: Path) -> None:
    """`why` after a reply says how far each reply moved the likeliest cause, in bits."""
    code, text = _run(tmp_path, ["yes", "why", "quit"])
    assert code == 0
    after = text.split("> why")[1]
    assert "So far, icloud_storage_full went from 12% to 80%" in after
    assert "storage_full_alert = yes: +4.91 bits" in after


def test_an_impossible_single_reply_is_not_called_a_contradiction() -> None:
    """With one finding at fault there are no earlier replies to contradict."""
    one = ImpossibleEvidenceError({"mode": "never"})
    assert _refusal(one).startswith("The model holds mode=never impossible. Nothing recorded")
    two = ImpossibleEvidenceError({"light": "no", "status": "red"})
    assert "contradicts earlier replies: light=no, status=red cannot all hold" in _refusal(two)
    assert str(one).endswith("probability 0 to mode=never; re-check this answer")


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
    """Without --answers, replies are read line by line from a non-terminal stdin; running out
    of them before the end is exit code 5, said on a line of its own."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))
    out = io.StringIO()
    assert main(["diagnose"], stdout=out) == OUT_OF_REPLIES == 5
    text = out.getvalue()
    assert "> no" in text
    assert "\nNo more replies; stopping.\n" in text


def test_missing_rich_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without rich the command prints the pip command and fails."""
    monkeypatch.setitem(sys.modules, "rich.console", None)
    code, _ = _run(tmp_path, [])
    assert code == 1
    assert "pip install rich" in capsys.readouterr().err


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
    shown = re.findall(r"account_restricted \((<1|\d+)%\)", why)
    assert shown, why  # named, with its probability (near 0.5%: "<1%" or "1%" by the last bits)
    assert "(0%)" not in why


# A lamp: `light` shows for certain whether the bulb is broken; a red `status` needs a broken
# bulb. Optional repairs fix each cause for certain.
LAMP = """
syncdx_model: 1
name: lamp
causes:
  - {id: broken, text: the bulb is broken, prior: 0.3, assumption: test}
  - {id: dirty, text: the switch is dirty, prior: 0.3, assumption: test}
observations:
  - id: light
    question: Is the light off?
    cost: 1
    assumption: test
    parents: [broken]
    cpt:
      - {when: {broken: absent}, p: {yes: 0.0, no: 1.0}, assumption: never without the fault}
      - {when: {broken: present}, p: {yes: 1.0, no: 0.0}, assumption: always with it}
  - id: status
    question: What colour is the status light?
    cost: 1
    states: [green, amber, red]
    assumption: test
    parents: [broken, dirty]
    cpt:
      - {when: {broken: absent, dirty: absent}, p: {green: 1, amber: 0, red: 0}, assumption: t}
      - {when: {broken: absent, dirty: present}, p: {green: 0.2, amber: 0.8, red: 0}, assumption: t}
      - when: {broken: present, dirty: absent}
        p: {green: 0.4, amber: 0.3, red: 0.3}
        assumption: t
      - when: {broken: present, dirty: present}
        p: {green: 0.1, amber: 0.6, red: 0.3}
        assumption: t
"""
REPAIRS = """
actions:
  - id: replace
    text: Replace the bulb
    cost: 5
    fixes: {broken: {p: 1.0, assumption: always works}}
    assumption: test
  - id: clean
    text: Clean the switch
    cost: 5
    fixes: {dirty: {p: 1.0, assumption: always works}}
    assumption: test
"""
# One question whose states are command words.
MODES = """
syncdx_model: 1
name: modes
causes:
  - {id: broken, text: it is broken, prior: 0.3, assumption: test}
observations:
  - id: mode
    question: Which mode does it show?
    cost: 1
    states: [skip, quit, normal]
    assumption: test
    parents: [broken]
    cpt:
      - {when: {broken: absent}, p: {skip: 0.1, quit: 0.1, normal: 0.8}, assumption: t}
      - {when: {broken: present}, p: {skip: 0.6, quit: 0.3, normal: 0.1}, assumption: t}
"""


def _model_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_network_without_repairs_asks_the_best_questions(tmp_path: Path) -> None:
    """A BIF network has no repair actions: the dialogue asks recommend()'s best question each
    time, shows the posterior, and ends when no question would tell more."""
    asia = syncdx.load_model(bundled_network("asia"))
    first = asia.recommend().index[0]
    code, text = _run(tmp_path, ["yes"] * 10, "--model", str(bundled_network("asia")))
    assert code == 0
    assert f"Question (1 min): {first}\n" in text
    assert text.count("Most likely causes:") == text.count("[yes / no] > yes") + 1
    assert text.rstrip().endswith(
        "No question left would change the picture; the most likely causes are above."
    )


def test_why_without_repairs_names_the_information_gain(tmp_path: Path) -> None:
    """`why` on a question asked for want of repairs gives its expected information gain."""
    code, text = _run(tmp_path, ["why", "quit"], "--model", _model_file(tmp_path, LAMP))
    assert code == 0
    assert "Why: it tells the most about the causes (0.88 bits expected)" in text


def test_contradicting_answer_is_not_recorded(tmp_path: Path) -> None:
    """An answer impossible with the earlier ones names the conflict, records nothing, and
    leaves the dialogue going: `undo` reverts the earlier answer."""
    replies = ["no", "red", "undo", "yes", "red"]
    code, text = _run(tmp_path, replies, "--model", _model_file(tmp_path, LAMP))
    assert code == 0
    assert (
        "That contradicts earlier replies: light=no, status=red cannot all hold. Nothing "
        "recorded; reply again, or undo an earlier reply." in " ".join(text.split())
    )
    assert "Undone: answer light no" in text
    assert "broken  100.0%" in text.split("> red")[-1]


def test_contradicting_repair_outcome_is_not_recorded(tmp_path: Path) -> None:
    """ "Not fixed" for a repair the model holds certain is refused like a contradicting
    answer; the session is unchanged, and the other reply goes on."""
    from rich.console import Console

    session = Session(syncdx.load_model(_model_file(tmp_path, LAMP + REPAIRS)))
    session.answer("light", "yes")
    out = io.StringIO()
    code = Dialogue(session, Console(file=out, width=100), iter(["no", "yes"])).run()
    text = " ".join(out.getvalue().split())
    assert code == 0
    assert "replace did not fix it, light=yes cannot all hold" in text
    assert session.history[0] == Entry("answer", "light", "yes")
    assert session.fixed_by == "replace"


def test_state_named_like_a_command_is_an_answer(tmp_path: Path) -> None:
    """A state of the question wins over the command of the same name; `:skip` is the
    command."""
    model = _model_file(tmp_path, MODES)
    code, text = _run(tmp_path, ["skip"], "--model", model)
    assert code == 0
    assert "broken   72.0%" in text  # 0.3 * 0.6 / (0.3 * 0.6 + 0.7 * 0.1)
    code, text = _run(tmp_path, [":skip"], "--model", model)
    assert code == 0
    assert "72.0%" not in text
    assert text.rstrip().endswith(
        "No question left would change the picture; the most likely causes are above."
    )
    code, text = _run(tmp_path, ["QUIT", "yes"], "--model", model)
    assert "> yes" not in text  # QUIT answered the question, then nothing was left to ask


@pytest.mark.parametrize("command", [":why", ":undo", ":quit", ":Skip"])
def test_commands_with_a_colon(tmp_path: Path, command: str) -> None:
    """Every command also works with a leading colon, in any case."""
    code, text = _run(tmp_path, [command, "quit"])
    assert code == 0
    assert "Not an answer" not in text
    assert "Please answer" not in text


def test_replies_are_echoed_as_typed(tmp_path: Path) -> None:
    """An error quotes the reply as typed, and an answer is matched whatever its case."""
    code, text = _run(tmp_path, ["Perhaps", "YES", "quit"])
    assert code == 0
    assert "Not an answer: 'Perhaps' is not a state of 'storage_full_alert'" in text
    assert "icloud_storage_full   80.4%" in text


def test_nothing_to_undo_just_asks_again(tmp_path: Path) -> None:
    """`undo` with no history says so and re-prompts, without showing the posterior again."""
    code, text = _run(tmp_path, ["undo", "quit"])
    assert code == 0
    assert "> undo\nNothing to undo.\n[yes / no] > quit" in text
    assert text.count("Most likely causes:") == 1


def test_ctrl_c_at_the_prompt_stops_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    """KeyboardInterrupt at the prompt ends the dialogue with exit code 130, no traceback."""
    from rich.console import Console

    def interrupt(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(Console, "input", interrupt)
    out = io.StringIO()
    assert main(["diagnose"], stdout=out) == 130
    assert "\nInterrupted; stopping.\n\nSummary\nOutcome: open" in out.getvalue()


def test_end_of_input_at_the_terminal_starts_a_new_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-D at the prompt leaves the prompt's line before saying the replies ran out."""
    from rich.console import Console

    class Terminal(Console):
        def input(self, prompt: object = "", **kwargs: object) -> str:
            self.print(prompt, end="", markup=False)
            raise EOFError

    out = io.StringIO()
    code = Dialogue(Session(syncdx.load_model()), Terminal(file=out, width=100), None).run()
    assert code == OUT_OF_REPLIES
    assert out.getvalue().endswith("[yes / no] > \nNo more replies; stopping.\n")


def test_replies_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    """A UTF-8 replies file with a BOM (as some Windows editors write) is read."""
    path = tmp_path / "answers.json"
    path.write_text('["quit"]', encoding="utf-8-sig")
    assert main(["diagnose", "--answers", str(path)], stdout=io.StringIO()) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'["yes", "\xff"]', "cannot read the replies: 'utf-8' codec can't decode byte 0xff"),
        (b'["yes", 1, true]', "a JSON list of strings; reply 2 is 1"),
        (b'["yes", null]', "a JSON list of strings; reply 2 is null"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'["yes", ' + b"[" * 100_000 + b"]" * 100_000 + b"]", "nested too deeply"),
        (b'["yes", ' + b"[" * 500 + b"]" * 500 + b"]", "reply 2 is [[[[[[[[[["),
        (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
    ],
)
def test_bad_replies_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    """Undecodable bytes, replies that are not strings, JSON nested too deeply: one line
    naming the file (a bad reply shortened), exit 4."""
    path = tmp_path / "answers.json"
    path.write_bytes(content)
    assert main(["diagnose", "--answers", str(path)], stdout=io.StringIO()) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert str(path) in error
    assert message in error


def test_console_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """At a terminal the console is as wide as it, up to a cap; scripted runs have a fixed
    width, whatever the terminal."""
    monkeypatch.setenv("COLUMNS", "72")
    assert console_width(interactive=True) == 72
    assert console_width(interactive=False) == 100
    monkeypatch.setenv("COLUMNS", "400")
    assert console_width(interactive=True) == 120


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """`syncdx diagnose --help` documents the exit codes."""
    with pytest.raises(SystemExit):
        main(["diagnose", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "5 the replies ran out first; 130 interrupted" in text


def _full(tmp_path: Path, replies: list[str], *options: str) -> tuple[int, str]:
    """Exit code and whole transcript (summary included), in the model's words."""
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(replies), encoding="utf-8")
    out = io.StringIO()
    code = main(["diagnose", "--answers", str(path), *options], stdout=out)
    return code, out.getvalue()


def test_starting_answers_as_arguments(tmp_path: Path) -> None:
    """`syncdx diagnose paused_banner=yes internet_works=no` starts from those answers."""
    code, text = _full(tmp_path, ["quit"], "paused_banner=yes", "internet_works=no", "--ids")
    assert code == 0
    expected = syncdx.load_model().posterior({"paused_banner": "yes", "internet_works": "no"})
    assert f"{expected.index[0]}  {expected.iloc[0]:6.1%}" in text.replace("   ", "  ")
    assert "paused_banner: yes" in text.split("Summary")[1]


def test_a_bad_starting_answer_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A starting answer that is not a state is a one-line error, exit 2."""
    assert main(["diagnose", "paused_banner=perhaps"], stdout=io.StringIO()) == 2
    assert "'perhaps' is not a state of 'paused_banner'" in capsys.readouterr().err


def test_save_and_load_resume_the_session(tmp_path: Path) -> None:
    """--save writes the session at the end; --load resumes it with its answers."""
    saved = tmp_path / "session.json"
    code, _ = _full(tmp_path, ["yes", "quit"], "--save", str(saved))
    assert code == 0
    history = json.loads(saved.read_text())["history"]
    assert history == [{"kind": "answer", "id": "storage_full_alert", "state": "yes"}]
    code, text = _full(tmp_path, ["quit"], "--load", str(saved), "--summary-format", "json")
    assert code == 0
    summary = json.loads(text[text.index("\n{") :])
    assert summary["answers"][0]["id"] == "storage_full_alert"


def test_load_of_a_missing_file_is_exit_4(tmp_path: Path) -> None:
    """--load naming no file is an unreadable input: exit 4."""
    assert main(["diagnose", "--load", str(tmp_path / "no.json")], stdout=io.StringIO()) == 4


def test_volunteered_answer_at_any_prompt(tmp_path: Path) -> None:
    """`question=state` at a prompt records that answer (a unique start of the question id and
    a short state work too) and re-plans; a bad one says why and asks again."""
    code, text = _full(tmp_path, ["low_power_mode=n", "paused_banner=perhaps", "quit"], "--ids")
    assert code == 0
    assert "Noted: low_power_mode_on = no" in text
    assert "'perhaps' is not a state" in text
    assert "low_power_mode_on: no" in text.split("Summary")[1]


@pytest.mark.parametrize("reply", ["don't know", "Not sure", "unknown"])
def test_dont_know_skips_the_question(tmp_path: Path, reply: str) -> None:
    """A "don't know" word at a question records no evidence: the question is skipped."""
    code, text = _full(tmp_path, [reply, "quit"], "--summary-format", "json")
    assert code == 0
    assert "Not known: no evidence; the question is skipped." in text
    summary = json.loads(text[text.index("\n{") :])
    assert summary["answers"] == []
    assert summary["skipped"] == ["storage_full_alert"]


def test_short_answers_numbers_and_prefixes(tmp_path: Path) -> None:
    """A question with named states takes their number or a unique start; y/n for yes/no."""
    model = _model_file(tmp_path, LAMP)
    _, text = _full(tmp_path, ["status=am", "quit"], "--model", model, "--ids")
    assert "Noted: status = amber" in text
    session = Session(syncdx.load_model(model))
    dialogue = Dialogue(session, _console(), iter(["4", "3"]), ids=True)
    status = Proposal("question", "status", "colour?", 1, ("green", "amber", "red"), "")
    assert dialogue._take(status) is None
    assert session.evidence == {"status": "red"}
    assert "[1 green / 2 amber / 3 red] > 4" in cast(io.StringIO, dialogue.console.file).getvalue()
    light = Proposal("question", "light", "off?", 1, ("yes", "no"), "")
    dialogue = Dialogue(session, _console(), iter(["Y"]), ids=True)
    assert dialogue._take(light) is None
    assert session.evidence == {"status": "red", "light": "yes"}


def _console() -> Any:
    from rich.console import Console

    return Console(file=io.StringIO(), width=100)


def test_help_lists_the_commands_and_the_answers(tmp_path: Path) -> None:
    """`?` and `help` show the commands, the answers allowed here and the "don't know" words;
    `?` is help at the prompt, so it is not listed among them, and help says so."""
    model = _model_file(tmp_path, LAMP)
    _, text = _full(tmp_path, ["?", "help", "quit"], "--model", model)
    assert text.count("Answers here: ") == 2
    listed = [line for line in text.splitlines() if line.startswith('"Don\'t know" words: ')]
    assert len(listed) == 2
    words = listed[0].split(": ", 1)[1].split(", ")
    assert "not sure" in words
    assert "maybe" in words
    assert "?" not in words
    assert "Here ? is help" in text


def test_peoples_words_by_default_ids_on_request(tmp_path: Path) -> None:
    """Causes and steps show the model's texts; --ids adds the ids."""
    model = syncdx.load_model()
    top = model.posterior({}).index[0]
    _, words = _full(tmp_path, ["quit"])
    assert model.network.variable(top).text[:40] in words
    assert f"  {top} " not in words
    _, ids = _full(tmp_path, ["quit"], "--ids")
    assert f"  {top} " in ids
    assert "[storage_full_alert]" in ids


def test_an_action_against_an_answer_says_why_it_is_still_proposed(tmp_path: Path) -> None:
    """After "Is Low Power Mode on? no", proposing to turn it off says why: the cause also
    covers a critically low battery or an idle device."""
    _, text = _full(tmp_path, ["n"] * 30, "arrives_only_when_opened=yes", "low_power_mode_on=no")
    step = text.index("Try (5 min): Turn off Low Power Mode")
    note = " ".join(text[step : step + 600].split())
    assert "Although you answered 'no' to 'Is Low Power Mode on" in note
    assert "a device that is mostly off or idle" in note


@pytest.mark.parametrize("form", ["text", "markdown", "json"])
def test_summary_at_the_end_in_each_format(tmp_path: Path, form: str) -> None:
    """The end summary is Session.summary() in the chosen format."""
    code, text = _full(tmp_path, ["yes", "no", "quit"], "--summary-format", form, "--ids")
    assert code == 0
    session = Session(syncdx.load_model())
    session.answer("storage_full_alert", "yes")
    end = text.split("\n", 1)[1]
    if form == "json":
        assert json.loads(end[end.index("\n{") :])["answers"][0]["result"] == "yes"
    elif form == "markdown":
        assert "### Answers\n- storage_full_alert: yes" in text
    else:
        assert "Answers:\n  storage_full_alert: yes" in text


def test_closed_stdin_ends_with_no_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    """With stdin closed (sys.stdin None) the dialogue stops at once: exit 5, a summary."""
    monkeypatch.setattr(sys, "stdin", None)
    out = io.StringIO()
    assert main(["diagnose"], stdout=out) == OUT_OF_REPLIES
    assert "No more replies; stopping." in out.getvalue()
    assert "Summary\nOutcome: open" in out.getvalue()


def test_narrow_console_keeps_bars_within_the_width() -> None:
    """At 60 columns every bar line fits: long cause texts are cut with an ellipsis."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=60)
    Dialogue(Session(syncdx.load_model()), console, iter(["quit"])).run()
    lines = [line for line in out.getvalue().splitlines() if "█" in line]
    assert lines
    assert all(len(line) <= 60 for line in lines)
    assert any("…" in line for line in lines)


@pytest.mark.parametrize("width", [60, 80])
def test_the_end_summary_wraps_on_words(width: int) -> None:
    """The text summary is wrapped to the terminal's width on word boundaries: no line wider,
    the same words in the same order (none cut in two), continuation lines indented; the
    markdown and JSON forms are not wrapped (one line per item, to paste)."""
    from syncdx.cli._diagnose import summary_text

    session = Session(syncdx.load_model())
    session.answer("storage_full_alert", "yes")
    session.answer("low_power_mode_on", "no")
    whole = summary_text(session, "text")
    assert max(len(line) for line in whole.splitlines()) > width  # something to wrap
    text = summary_text(session, "text", width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert text.split() == whole.split()
    start = lines.index("Likeliest causes:") + 1
    causes = list(itertools.takewhile(lambda line: line.startswith(" "), lines[start:]))
    continued = [line for line in causes if not re.match(r"  [<>]?\d+%  \S", line)]
    assert continued  # a long cause's text goes on under its first word
    assert all(re.match(r" {7}\S", line) for line in continued)
    for form in ("markdown", "json"):
        assert summary_text(session, form, width=width) == summary_text(session, form)


def test_scripted_summary_lines_fit_the_fixed_width(tmp_path: Path) -> None:
    """A scripted run's summary (100 columns) keeps every cause's text whole and within it."""
    code, text = _full(tmp_path, ["quit"], "storage_full_alert=yes")
    assert code == 0
    summary = text.split("\nSummary\n")[1]
    assert max(len(line) for line in summary.splitlines()) <= 100
    model = syncdx.load_model()
    shown = " ".join(summary.split())
    listed = [c for c in model.causes if model.network.variable(c).text[:30] in shown]
    assert listed
    for cause in listed:
        assert " ".join(model.network.variable(cause).text.split()) in shown
