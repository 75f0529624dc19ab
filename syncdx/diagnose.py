"""`syncdx diagnose`: an interactive troubleshooting session in the terminal (needs `rich`).

Shows the posterior as bars and proposes the next step of `syncdx.plan`: a question with its
allowed answers, or a repair action ("did it fix it? yes/no"). Besides an answer, a reply can be
`skip`, `undo`, `why` (the causes the step targets) or `quit`. The session ends when a fix is
confirmed or the last resort is suggested. Replies come from the keyboard, or, when stdin is not
a terminal or `--answers` names a JSON list of replies, from there (echoed, for transcripts).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from syncdx.display import bars, percent
from syncdx.errors import EvidenceError, InputError
from syncdx.loading import load_model
from syncdx.plan import Step
from syncdx.session import Session

if TYPE_CHECKING:
    from rich.console import Console

INSTALL_HINT = "syncdx diagnose needs the 'rich' package: pip install 'syncdx[cli]'"
COMMANDS = ("skip", "undo", "why", "quit")
YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")
TOP_CAUSES = 6


def command(args: argparse.Namespace, out: TextIO) -> int:
    """Run `syncdx diagnose` with parsed arguments; the exit code."""
    try:
        from rich.console import Console
    except ImportError:
        print(INSTALL_HINT, file=out)
        return 1
    model = load_model(args.model)
    replies = _replies(args.answers)
    console = Console(file=out, width=100, highlight=False, markup=False)
    return Dialogue(Session(model), console, replies).run()


def _replies(path: str | None) -> Iterator[str] | None:
    """Scripted replies: from the --answers file, or stdin when it is not a terminal."""
    if path is not None:
        try:
            replies = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read the replies: {exc}", file=path) from None
        if not isinstance(replies, list):
            raise InputError("the replies must be a JSON list of strings", file=path)
        return iter(str(reply) for reply in replies)
    if sys.stdin.isatty():
        return None
    return (line.strip() for line in sys.stdin)


class Dialogue:
    """The question-and-answer loop around a `Session`."""

    def __init__(self, session: Session, console: Console, replies: Iterator[str] | None) -> None:
        self.session, self.console, self.replies = session, console, replies

    def run(self) -> int:
        """Propose steps until the problem is fixed, the last resort is reached, or quit."""
        network = self.session.model.network
        self.console.print(network.title or network.name, style="bold")
        self.console.print(f"Answer each step, or type {', '.join(COMMANDS)}.")
        while True:
            self._show_posterior()
            step = self.session.plan()
            if step.last_resort:
                self.console.print(f"\nLast resort: {step.text} (about {step.cost:g} min).")
                self._show_why(step)
                return 0
            if not self._take(step):
                return 0
            if self.session.resolved:
                self.console.print(f"\nFixed by {self.session.fixed_by}. Done.")
                return 0

    def _take(self, step: Step) -> bool:
        """Ask until the reply moves the session on; False to stop."""
        self.console.print(f"\n{self._describe(step)}")
        while True:
            reply = self._read(self._prompt(step))
            if reply is None:
                self.console.print("No more replies; stopping.")
                return False
            word = reply.strip().lower()
            if word == "quit":
                return False
            if word == "why":
                self._show_why(step)
            elif word == "undo":
                return self._undo()
            elif word == "skip":
                self.session.skip(step.id)
                return True
            elif self._record(step, word):
                return True

    def _record(self, step: Step, word: str) -> bool:
        if step.kind == "action":
            if word not in YES + NO:
                self.console.print("Please answer yes or no.")
                return False
            self.session.did(step.id, fixed=word in YES)
            return True
        try:
            self.session.answer(step.id, word)
        except EvidenceError as error:
            self.console.print(f"Not an answer: {error}")
            return False
        return True

    def _undo(self) -> bool:
        if not self.session.history:
            self.console.print("Nothing to undo.")
        else:
            entry = self.session.undo()
            self.console.print(f"Undone: {entry.kind} {entry.id} {entry.value}".rstrip())
        return True

    def _read(self, prompt: str) -> str | None:
        if self.replies is None:
            try:
                return self.console.input(prompt, markup=False)
            except EOFError:
                return None
        reply = next(self.replies, None)
        if reply is not None:
            self.console.print(f"{prompt}{reply}")
        return reply

    # -- display ----------------------------------------------------------------------------
    def _describe(self, step: Step) -> str:
        if step.kind == "question":
            return f"Question ({step.cost:g} min): {step.text}"
        return f"Try ({step.cost:g} min): {step.text}"

    @staticmethod
    def _prompt(step: Step) -> str:
        if step.kind == "question":
            return f"[{' / '.join(step.answers)}] > "
        return "Did it fix it? [yes / no] > "

    def _show_posterior(self) -> None:
        posterior = self.session.posterior.head(TOP_CAUSES)
        self.console.print("\nMost likely causes:")
        for line in bars(posterior):
            self.console.print(line)

    def _show_why(self, step: Step) -> None:
        causes = ", ".join(f"{cause} ({percent(p)})" for cause, p in step.why)
        self.console.print(
            f"Why: it targets {causes}; expected cost to a fix from here: "
            f"{step.expected_cost:.0f} min."
        )


def add_arguments(parser: Any) -> None:
    """The options of `syncdx diagnose`."""
    parser.add_argument("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    parser.add_argument(
        "--answers", metavar="FILE", help="JSON list of replies, in order (non-interactive)"
    )
