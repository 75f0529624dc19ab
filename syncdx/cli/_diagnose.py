"""`syncdx diagnose`: an interactive troubleshooting session in the terminal (needs `rich`).

Shows the posterior as bars and proposes the next step of `_plan`: a question with its
allowed answers, or a repair action ("did it fix it? yes/no"). When no repair action is left to
plan with (a BIF network has none; or every action was tried or skipped) it asks the question
`recommend()` ranks first instead. Besides an answer, a reply can be `skip`, `undo`, `why` (what
the step is for) or `quit`, also written `:skip`, `:undo`, `:why`, `:quit`; a state of the
current question wins over the bare command word of the same name. A reply that contradicts
earlier ones is not recorded. The session ends when a fix is confirmed, the last resort is
suggested, or nothing is left to ask. Replies come from the keyboard, or, when stdin is not a
terminal or `--answers` names a JSON list of replies, from there (echoed, for transcripts).

Exit codes: 0 the session ended or the user quit; 1 `rich` is missing; 2, 3, 4 as for every
command (bad arguments, invalid model, unreadable replies file); 5 the replies ran out before
the session ended; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import reprlib
import shutil
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from syncdx._loading import load_model
from syncdx._session import Session
from syncdx.cli._display import CAUSES_HELP, bars, causes_list, percent
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._explain_display import bits
from syncdx.diagnosis._plan import Step, StepKind
from syncdx.diagnosis._repairs import Repairs
from syncdx.errors import EvidenceError, ImpossibleEvidenceError, InputError

if TYPE_CHECKING:
    from rich.console import Console

INSTALL_HINT = "syncdx diagnose needs the 'rich' package: pip install 'syncdx[cli]'"
COMMANDS = ("skip", "undo", "why", "quit")
#: Written before a command, it is a command even where the word is also an answer.
COMMAND_PREFIX = ":"
HELP = (
    "Answer each step, or type skip, undo, why or quit; with a colon (:skip, :undo, :why, "
    ":quit) they are commands even where the word is also an answer."
)
YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")
TOP_CAUSES = 6
#: How many characters of a bad reply an error message shows.
SHOWN_JSON = 60
#: A question expected to tell less than this many bits about the causes is not worth asking.
MIN_GAIN = 1e-9
#: Console width for scripted runs (stable transcripts), and the most used at a terminal.
FIXED_WIDTH, MAX_WIDTH = 100, 120
DONE, OUT_OF_REPLIES, INTERRUPTED = 0, 5, 130
EXIT_CODES_HELP = (
    "Exit codes: 0 the session ended (fixed, last resort, nothing left to ask) or quit; "
    "1 rich is missing; 2 bad arguments; 3 invalid model; 4 unreadable replies file; "
    "5 the replies ran out first; 130 interrupted."
)


def command(args: argparse.Namespace, out: TextIO) -> int:
    """Run `syncdx diagnose` with parsed arguments; the exit code."""
    try:
        from rich.console import Console
    except ImportError:
        print(INSTALL_HINT, file=out)
        return 1
    model = load_model(args.model, causes=args.causes)
    replies = _replies(args.answers)
    width = console_width(interactive=replies is None)
    console = Console(file=out, width=width, highlight=False, markup=False)
    return Dialogue(Session(model), console, replies).run()


def console_width(*, interactive: bool) -> int:
    """The terminal's width (at most MAX_WIDTH) at a terminal; FIXED_WIDTH for scripted runs,
    so their transcripts do not depend on where they ran."""
    if not interactive:
        return FIXED_WIDTH
    return min(shutil.get_terminal_size((FIXED_WIDTH, 24)).columns, MAX_WIDTH)


def _replies(path: str | None) -> Iterator[str] | None:
    """Scripted replies: from the --answers file, or stdin when it is not a terminal."""
    if path is not None:
        return iter(read_replies(Path(path)))
    if sys.stdin.isatty():
        return None
    return (line.strip() for line in sys.stdin)


def read_replies(path: Path) -> list[str]:
    """The replies in a JSON file (UTF-8, with or without a byte-order mark); InputError if
    it cannot be read or is not a list of strings."""
    try:
        replies = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the replies: {exc}", file=str(path)) from None
    except RecursionError:
        raise InputError(
            "the replies must be a JSON list of strings; this JSON is nested too deeply",
            file=str(path),
        ) from None
    if not isinstance(replies, list):
        raise InputError("the replies must be a JSON list of strings", file=str(path))
    for number, reply in enumerate(replies, start=1):
        if not isinstance(reply, str):
            raise InputError(
                f"the replies must be a JSON list of strings; reply {number} is "
                f"{_shown_json(reply)}",
                file=str(path),
            )
    return replies


def _shown_json(value: object) -> str:
    """`value` as JSON writes it, shortened to SHOWN_JSON characters."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):
        text = reprlib.repr(value)
    return text if len(text) <= SHOWN_JSON else f"{text[: SHOWN_JSON - 3]}..."


def parse_command(reply: str, answers: Collection[str]) -> str | None:
    """The command a reply names, or None if it is an answer: ":word" always names a command,
    a bare command word only when it is not one of `answers` (lower-case spellings)."""
    word = reply.strip().lower()
    if word.startswith(COMMAND_PREFIX) and word[len(COMMAND_PREFIX) :] in COMMANDS:
        return word[len(COMMAND_PREFIX) :]
    if word in COMMANDS and word not in answers:
        return word
    return None


@dataclass(frozen=True, slots=True)
class Proposal:
    """The step the dialogue proposes, and what `why` says about it."""

    kind: StepKind
    id: str
    text: str
    cost: float
    answers: tuple[str, ...]
    reason: str
    last_resort: bool = False

    @classmethod
    def of_step(cls, step: Step) -> Proposal:
        """A planner's step: `why` names the causes it targets and the expected cost."""
        causes = ", ".join(f"{cause} ({percent(p)})" for cause, p in step.why)
        reason = (
            f"it targets {causes}; expected cost to a fix from here: {step.expected_cost:.0f} min."
        )
        return cls(step.kind, step.id, step.text, step.cost, step.answers, reason, step.last_resort)

    @classmethod
    def best_question(cls, session: Session) -> Proposal | None:
        """The most informative question left, or None if no question would tell anything."""
        table = session.recommend(k=1)
        if table.empty or float(table["gain"].iloc[0]) < MIN_GAIN:
            return None
        row = table.iloc[0]
        actions = session.model.network.actions
        left = "no repair action is left to plan with" if actions else "the model has no repairs"
        reason = (
            f"it tells the most about the causes ({float(row['gain']):.2f} bits expected); {left}."
        )
        states = session.model.states(str(table.index[0]))
        return cls("question", str(table.index[0]), row["question"], row["cost"], states, reason)


class Dialogue:
    """The question-and-answer loop around a `Session`."""

    def __init__(self, session: Session, console: Console, replies: Iterator[str] | None) -> None:
        self.session, self.console, self.replies = session, console, replies

    def run(self) -> int:
        """Propose steps until the session ends or the user quits; the exit code."""
        try:
            return self._loop()
        except KeyboardInterrupt:
            self.console.print("\nInterrupted; stopping.")
            return INTERRUPTED

    def _loop(self) -> int:
        network = self.session.model.network
        self.console.print(network.title or network.name, style="bold")
        self.console.print(HELP)
        while True:
            self._show_posterior()
            proposal = self._next()
            if proposal is None:
                self.console.print(
                    "\nNo question left would change the picture; the most likely causes are above."
                )
                return DONE
            if proposal.last_resort:
                self.console.print(f"\nLast resort: {proposal.text} (about {proposal.cost:g} min).")
                self.console.print(f"Why: {proposal.reason}")
                return DONE
            stop = self._take(proposal)
            if stop is not None:
                return stop
            if self.session.resolved:
                self.console.print(f"\nFixed by {self.session.fixed_by}. Done.")
                return DONE

    def _next(self) -> Proposal | None:
        """The planner's step while a repair action is left, else the best question."""
        session, network = self.session, self.session.model.network
        tried = (*session.failed, *session.skipped)
        if Repairs.of(network, session.model.causes, exclude=tried).ids:
            return Proposal.of_step(session.plan())
        return Proposal.best_question(session)

    def _take(self, proposal: Proposal) -> int | None:
        """Ask until a reply moves the session on (None) or ends the dialogue (its exit code)."""
        self.console.print(f"\n{_describe(proposal)}")
        while True:
            reply = self._read(_prompt(proposal))
            if reply is None:
                if self.replies is None:
                    self.console.print()  # end the prompt's line
                self.console.print("No more replies; stopping.")
                return OUT_OF_REPLIES
            word = parse_command(reply, self._answers(proposal))
            if word == "quit":
                return DONE
            if word == "why":
                self.console.print(f"Why: {proposal.reason}")
                self._explain()
            elif word == "undo":
                if self._undo():
                    return None
            elif word == "skip":
                self.session.skip(proposal.id)
                self.console.print(f"Skipped: {proposal.id}")
                return None
            elif self._record(proposal, reply.strip()):
                return None

    def _explain(self) -> None:
        """What the replies so far say about the likeliest cause, finding by finding."""
        explanation = self.session.explain()
        if explanation.table.empty:
            return
        self.console.print(
            f"So far, {explanation.cause} went from {percent(explanation.prior)} to "
            f"{percent(explanation.posterior)}:"
        )
        for row in explanation.table.to_dict("records"):  # a few rows, one per reply
            self.console.print(
                f"  {row['finding']} = {row['answer']}: {bits(float(row['weight']))} bits",
                markup=False,
            )
        if explanation.conflict.flagged:
            self.console.print(f"Note: {explanation.conflict.message}", markup=False)

    def _answers(self, proposal: Proposal) -> Collection[str]:
        """Every spelling that answers the proposal (lower case)."""
        if proposal.kind == "action":
            return YES + NO
        return ev.spellings(ev.node(self.session.model.network, proposal.id)).keys()

    def _record(self, proposal: Proposal, reply: str) -> bool:
        """Record the reply; False (and say why) if it is not an answer or contradicts others."""
        try:
            if proposal.kind == "question":
                self.session.answer(proposal.id, reply)
            elif reply.lower() in YES + NO:
                self.session.did(proposal.id, fixed=reply.lower() in YES)
            else:
                self.console.print("Please answer yes or no.")
                return False
        except ImpossibleEvidenceError as error:
            self.console.print(_refusal(error))
            return False
        except EvidenceError as error:
            self.console.print(f"Not an answer: {error}")
            return False
        return True

    def _undo(self) -> bool:
        """Undo the last entry; False if there is none."""
        if not self.session.history:
            self.console.print("Nothing to undo.")
            return False
        entry = self.session.undo()
        self.console.print(f"Undone: {entry.kind} {entry.id} {entry.value}".rstrip())
        return True

    def _read(self, prompt: str) -> str | None:
        """The next reply, or None when there are no more."""
        if self.replies is None:
            try:
                return self.console.input(prompt, markup=False)
            except EOFError:
                return None
        reply = next(self.replies, None)
        if reply is not None:
            self.console.print(f"{prompt}{reply}")
        return reply

    def _show_posterior(self) -> None:
        posterior = self.session.posterior.head(TOP_CAUSES)
        self.console.print("\nMost likely causes:")
        for line in bars(posterior):
            self.console.print(line)


def _refusal(error: ImpossibleEvidenceError) -> str:
    """Why a reply the model finds impossible was not recorded."""
    if len(error.findings) == 1:
        return (
            f"The model holds {error.findings[0]} impossible. Nothing recorded; reply again, "
            "or undo an earlier reply."
        )
    return (
        f"That contradicts earlier replies: {', '.join(error.findings)} cannot all hold. "
        "Nothing recorded; reply again, or undo an earlier reply."
    )


def _describe(proposal: Proposal) -> str:
    verb = "Question" if proposal.kind == "question" else "Try"
    return f"{verb} ({proposal.cost:g} min): {proposal.text}"


def _prompt(proposal: Proposal) -> str:
    if proposal.kind == "question":
        return f"[{' / '.join(proposal.answers)}] > "
    return "Did it fix it? [yes / no] > "


def add_arguments(parser: Any) -> None:
    """The options of `syncdx diagnose`, and its exit codes in the help's epilog."""
    parser.add_argument("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    parser.add_argument("--causes", type=causes_list, help=CAUSES_HELP)
    parser.add_argument(
        "--answers", metavar="FILE", help="JSON list of replies, in order (non-interactive)"
    )
    parser.epilog = EXIT_CODES_HELP
