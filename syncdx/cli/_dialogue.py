"""The question-and-answer loop of `syncdx diagnose` around a `Session` (see `_diagnose`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncdx._session import Session
from syncdx.cli._display import bars, percent
from syncdx.cli._replies import choose, completions, numbered, parse_command, volunteered
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._explain_display import bits
from syncdx.diagnosis._plan import Step, StepKind
from syncdx.diagnosis._repairs import Repairs, described_failures
from syncdx.errors import EvidenceError, ImpossibleEvidenceError, SessionError

if TYPE_CHECKING:
    from rich.console import Console

HELP = (
    "Answer each step (a number, y/n, or the start of an answer), or type skip, undo, why, "
    'help (or ?) or quit; question=state gives an answer unasked; a "don\'t know" word skips '
    'a question (no evidence). Here ? is help, not "don\'t know".'
)
YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")
TOP_CAUSES = 6
#: A question expected to tell less than this many bits about the causes is not worth asking.
MIN_GAIN = 1e-9
#: An answer is said to go against an action when it cut a cause the action targets to less
#: than this fraction of what it would be without that answer.
AGAINST = 0.5
DONE, OUT_OF_REPLIES, INTERRUPTED = 0, 5, 130
#: Reads a reply at a terminal: (prompt, words to complete) -> the reply.
Reader = Callable[[str, Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class Proposal:
    """The step the dialogue proposes, and what `why` says about it (`targets`: the causes
    it aims at with their probabilities, for a planner's step)."""

    kind: StepKind
    id: str
    text: str
    cost: float
    answers: tuple[str, ...]
    reason: str
    last_resort: bool = False
    targets: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of_step(cls, step: Step, label: Callable[[str], str] = str) -> Proposal:
        """A planner's step: `why` names the causes it targets and the expected cost."""
        causes = ", ".join(f"{label(cause)} ({percent(p)})" for cause, p in step.why)
        reason = (
            f"it targets {causes}; expected cost to a fix from here: {step.expected_cost:.0f} min."
        )
        return cls(
            step.kind,
            step.id,
            step.text,
            step.cost,
            step.answers,
            reason,
            step.last_resort,
            step.why,
        )

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
    """The question-and-answer loop around a `Session`: `replies` scripted, or read with
    `reader` (default: the console's input) when None; `ids` shows node ids, not texts."""

    def __init__(
        self,
        session: Session,
        console: Console,
        replies: Iterator[str] | None,
        *,
        ids: bool = False,
        reader: Reader | None = None,
    ) -> None:
        self.session, self.console, self.replies = session, console, replies
        self.ids, self.reader = ids, reader

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
            if self.session.resolved:
                self.console.print(f"\nFixed by {self._action_label(self.session.fixed_by)}. Done.")
                return DONE
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

    def label(self, node: str) -> str:
        """How a cause or question reads: its text, or its id with `ids` (or without text)."""
        if self.ids:
            return node
        return self.session.model.network.variable(node).text or node

    def _action_label(self, action: str | None) -> str:
        if self.ids or action is None:
            return str(action)
        return next(a.text for a in self.session.model.network.actions if a.id == action)

    def _next(self) -> Proposal | None:
        """The planner's step while a repair action is left, else the best question."""
        session, network = self.session, self.session.model.network
        if session.finished:
            return None
        tried = (*session.failed, *session.skipped)
        if Repairs.of(network, session.model.causes, exclude=tried).ids:
            return Proposal.of_step(session.plan(), self.label)
        return Proposal.best_question(session)

    def _take(self, proposal: Proposal) -> int | None:
        """Ask until a reply moves the session on (None) or ends the dialogue (its exit code)."""
        self.console.print(f"\n{self._describe(proposal)}")
        for note in self._despite(proposal):
            self.console.print(note)
        while True:
            reply = self._read(self._prompt(proposal), self._words(proposal))
            if reply is None:
                if self.replies is None:
                    self.console.print()  # end the prompt's line
                self.console.print("No more replies; stopping.")
                return OUT_OF_REPLIES
            word = parse_command(reply, self._answers(proposal))
            if word == "quit":
                return DONE
            if word is not None:
                if self._command(word, proposal):
                    return None
            elif self._record(proposal, reply.strip()):
                return None

    def _command(self, word: str, proposal: Proposal) -> bool:
        """Carry out a command; whether the session moved on."""
        if word == "help":
            self._help(proposal)
            return False
        if word == "why":
            self.console.print(f"Why: {proposal.reason}")
            self._explain()
            return False
        if word == "undo":
            return self._undo()
        self.session.skip(proposal.id)
        self.console.print(f"Skipped: {proposal.id}")
        return True

    def _help(self, proposal: Proposal) -> None:
        self.console.print(HELP)
        self.console.print(f"Answers here: {self._choices(proposal)}")
        self.console.print(f'"Don\'t know" words: {", ".join(self._unknown_here(proposal))}')

    def _unknown_here(self, proposal: Proposal) -> list[str]:
        """The model's "don't know" words that mean "don't know" at this prompt: not those
        read as a command (`?` is help), except `skip`, which does the same."""
        answers = self._answers(proposal)
        words = self.session.model.unknown_words
        return sorted(w for w in words if parse_command(w, answers) in (None, "skip"))

    def _despite(self, proposal: Proposal) -> list[str]:
        """For an action: the answers that made a cause it targets less likely, and why it is
        still proposed (the cause covers more than those answers ruled out)."""
        if proposal.kind != "action" or proposal.last_resort:
            return []
        session, network = self.session, self.session.model.network
        notes = []
        for cause, p in proposal.targets:
            for question, state in session.evidence.items():
                if cause not in network.parent_ids(question):
                    continue
                rest = {q: s for q, s in session.evidence.items() if q != question}
                soft = described_failures(network, session.failed)
                before = float(session.model.posterior(rest, soft=soft)[cause])
                if p < AGAINST * before:
                    notes.append(
                        f"Although you answered {state!r} to {self.label(question)!r}, which "
                        f"made this less likely ({percent(before)} -> {percent(p)}), it is "
                        f"still worth trying: the cause it targets is broader: "
                        f"{self.label(cause)}."
                    )
        return notes

    def _explain(self) -> None:
        """What the replies so far say about the likeliest cause, finding by finding."""
        explanation = self.session.explain()
        if explanation.table.empty:
            return
        self.console.print(
            f"So far, {self.label(explanation.cause)} went from {percent(explanation.prior)} to "
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
        variable = ev.node(self.session.model.network, proposal.id)
        return ev.spellings(variable, ev.NO_WORDS).keys()

    def _record(self, proposal: Proposal, reply: str) -> bool:
        """Record the reply; False (and say why) if it is not an answer or contradicts others."""
        try:
            return self._apply(proposal, reply)
        except ImpossibleEvidenceError as error:
            self.console.print(_refusal(error))
        except (EvidenceError, SessionError) as error:
            self.console.print(f"Not an answer: {error}")
        return False

    def _apply(self, proposal: Proposal, reply: str) -> bool:
        """Record a volunteered answer, "don't know", an answer or a repair's outcome."""
        network = self.session.model.network
        given = volunteered(network, reply)
        if given is not None:
            self.session.answer(given.node, given.state)
            self.console.print(f"Noted: {given.node} = {given.state}")
            return True
        if proposal.kind == "question":
            variable = network.variable(proposal.id)
            if ev.spellings(variable, ev.words(network)).get(reply) == ev.UNOBSERVED:
                self.session.skip(proposal.id)
                self.console.print("Not known: no evidence; the question is skipped.")
                return True
            self.session.answer(proposal.id, choose(variable, reply) or reply)
            return True
        if reply.lower() in YES + NO:
            self.session.did(proposal.id, fixed=reply.lower() in YES)
            return True
        self.console.print("Please answer yes or no.")
        return False

    def _undo(self) -> bool:
        """Undo the last entry; False if there is none."""
        if not self.session.history:
            self.console.print("Nothing to undo.")
            return False
        entry = self.session.undo()
        self.console.print(f"Undone: {entry.kind} {entry.id} {entry.value}".rstrip())
        return True

    def _read(self, prompt: str, words: Sequence[str]) -> str | None:
        """The next reply, or None when there are no more."""
        if self.replies is None:
            try:
                if self.reader is not None:
                    return self.reader(prompt, words)
                return self.console.input(prompt, markup=False)
            except EOFError:
                return None
        reply = next(self.replies, None)
        if reply is not None:
            self.console.print(f"{prompt}{reply}")
        return reply

    def _words(self, proposal: Proposal) -> list[str]:
        answers = YES[:1] + NO[:1] if proposal.kind == "action" else proposal.answers
        return completions(self.session.model.network, answers)

    def _show_posterior(self) -> None:
        posterior = self.session.posterior.head(TOP_CAUSES)
        posterior.index = [self.label(str(c)) for c in posterior.index]
        self.console.print("\nMost likely causes:")
        for line in bars(posterior, width=self.console.width):
            self.console.print(line)

    def _describe(self, proposal: Proposal) -> str:
        verb = "Question" if proposal.kind == "question" else "Try"
        text = proposal.text
        if self.ids and text != proposal.id:
            text = f"{text} [{proposal.id}]"
        return f"{verb} ({proposal.cost:g} min): {text}"

    def _choices(self, proposal: Proposal) -> str:
        if proposal.kind == "action":
            return "yes / no"
        variable = self.session.model.network.variable(proposal.id)
        if not numbered(variable):
            return " / ".join(proposal.answers)
        return " / ".join(f"{i} {state}" for i, state in enumerate(proposal.answers, start=1))

    def _prompt(self, proposal: Proposal) -> str:
        if proposal.kind == "question":
            return f"[{self._choices(proposal)}] > "
        return "Did it fix it? [yes / no] > "


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
