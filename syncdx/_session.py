"""A troubleshooting session: the answers and repair attempts so far, and what to do next.

A `Session` keeps the history of one diagnosis: answers to questions, actions tried (fixed or
not) and steps skipped. The posterior it shows is the model's posterior given the answers, with
every action that did not fix the problem entered as soft evidence on the causes it targets
(`_repairs.failure_evidence`); `plan()` reasons over fault sets instead (`_plan`).
After an action fixes the problem the session is resolved: further steps are refused until
`undo()`. A session round-trips through JSON for apps that keep a diagnosis across requests;
loading replays and re-validates every entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx._model import Model
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._plan import (
    Step,
    check_steps,
    described_failures,
    find_action,
    probability_table,
)
from syncdx.errors import EvidenceError, SessionError, SyncdxError

if TYPE_CHECKING:
    import pandas as pd

EntryKind = Literal["answer", "action", "skip"]
#: Version of the JSON written by `Session.to_json`.
FORMAT_VERSION = 1
FORMAT_NAME = "syncdx-session"
#: How many of the most probable causes a session's HTML view lists.
TOP_CAUSES = 5


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a session: an answer (`value` is the state), an action tried (`value` is
    "fixed" or "not fixed") or a skipped step (`value` is empty)."""

    kind: EntryKind
    id: str
    value: str = ""


class Session:
    """One diagnosis in progress with `model`: answer, try actions, undo, ask what to do next."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self._history: list[Entry] = []

    # -- recording ----------------------------------------------------------------------------
    def answer(self, observation: str, state: object) -> None:
        """Record the answer to a question; an EvidenceError if the node or state is unknown,
        an ImpossibleEvidenceError if the answers so far then cannot all hold."""
        self._check_open()
        variable = ev.node(self._model.network, observation)
        index = ev.state_index(variable, state)
        if index == ev.UNOBSERVED:
            raise EvidenceError(
                f"the answer to {observation!r} is blank", node=observation, allowed=variable.states
            )
        evidence = {**self.evidence, variable.id: variable.states[index]}
        self._model.posterior(evidence, soft=self._soft(self.failed))  # raises if impossible
        self._history.append(Entry("answer", variable.id, variable.states[index]))

    def did(self, action: str, fixed: bool) -> None:
        """Record that `action` was tried and whether it fixed the problem (True or False).

        Each action is tried once: reporting again that an action did not fix the problem is a
        SessionError (undo() to correct a report). The last resort, which `plan` proposes as
        long as the session is open, may be reported again; its failure counts once.
        """
        self._check_open()
        if not isinstance(fixed, bool | np.bool_):
            raise TypeError(f"fixed must be True or False, got {fixed!r}")
        # an EvidenceError naming the actions if unknown
        last_resort = find_action(self._model.network, action).last_resort
        if action in self.failed and not last_resort:
            raise SessionError(
                f"{action!r} was already tried and did not fix the problem; each action is tried "
                "once (undo() to change that report)"
            )
        if not fixed:
            self._model.posterior(self.evidence, soft=self._soft((*self.failed, action)))
        self._history.append(Entry("action", action, "fixed" if fixed else "not fixed"))

    def skip(self, step: str) -> None:
        """Do not propose this question or action again (it cannot be answered or done).

        An EvidenceError if `step` is neither a question nor an action of the model. The last
        resort is always available, so it cannot be skipped: that is a SessionError.
        """
        self._check_open()
        network = self._model.network
        check_steps(network, [step])
        if any(a.last_resort and a.id == step for a in network.actions):
            raise SessionError(
                f"{step!r} is the last resort, always available; it cannot be skipped"
            )
        self._history.append(Entry("skip", step))

    def undo(self) -> Entry:
        """Remove and return the last entry (also re-opens a resolved session)."""
        if not self._history:
            raise SessionError("nothing to undo")
        return self._history.pop()

    # -- state --------------------------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The model this session diagnoses with."""
        return self._model

    @property
    def history(self) -> tuple[Entry, ...]:
        """Every entry so far, oldest first."""
        return tuple(self._history)

    @property
    def evidence(self) -> dict[str, str]:
        """{question: state}: the latest answer to each question."""
        return {e.id: e.value for e in self._history if e.kind == "answer"}

    @property
    def failed(self) -> tuple[str, ...]:
        """Actions tried that did not fix the problem, in order, each once."""
        failures = (e.id for e in self._history if e.kind == "action" and e.value == "not fixed")
        return tuple(dict.fromkeys(failures))

    @property
    def skipped(self) -> tuple[str, ...]:
        """Questions and actions skipped."""
        return tuple(e.id for e in self._history if e.kind == "skip")

    @property
    def fixed_by(self) -> str | None:
        """The action that fixed the problem, or None while it is not fixed."""
        fixes = (e.id for e in self._history if e.kind == "action" and e.value == "fixed")
        return next(fixes, None)

    @property
    def resolved(self) -> bool:
        """Whether an action has fixed the problem."""
        return self.fixed_by is not None

    # -- questions to the model -----------------------------------------------------------------
    @property
    def posterior(self) -> pd.Series:
        """P(cause present | answers, failed actions), most probable first."""
        return self._model.posterior(self.evidence, soft=self._soft(self.failed))

    def recommend(self, k: int | None = None) -> pd.DataFrame:
        """Questions not answered or skipped, ranked by information gain (`Model.recommend`)."""
        self._check_open()
        done = set(self.evidence) | set(self.skipped)
        candidates = [o for o in self._model.observations if o not in done]
        return self._model.recommend(
            self.evidence, soft=self._soft(self.failed), k=k, candidates=candidates
        )

    def plan(self) -> Step:
        """The next step by expected cost of repair (`Model.plan`)."""
        self._check_open()
        return self._model.plan(self.evidence, failed=self.failed, skipped=self.skipped)

    # -- persistence --------------------------------------------------------------------------
    def to_json(self) -> str:
        """The session as JSON text (format version, model name, history)."""
        history = [_entry_json(e) for e in self._history]
        document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "model": self._model.name}
        return json.dumps({**document, "history": history}, indent=1)

    @classmethod
    def from_json(cls, model: Model, text: str) -> Session:
        """A session from `to_json` text, every entry re-validated against `model`."""
        entries = _read_document(model, text)
        session = cls(model)
        for number, raw in enumerate(entries, start=1):
            try:
                session._replay(raw)
            except SyncdxError as error:
                error.add_note(f"while loading session history entry {number}")
                raise
        return session

    def _replay(self, raw: object) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise SessionError(f"a history entry must be an object with an 'id', got {raw!r}")
        kind, node = raw.get("kind"), raw["id"]
        if kind == "answer" and "state" in raw:
            self.answer(node, raw["state"])
        elif kind == "action" and isinstance(raw.get("fixed"), bool):
            self.did(node, raw["fixed"])
        elif kind == "skip":
            self.skip(node)
        else:
            raise SessionError(
                "a history entry needs kind 'answer' (with 'state'), 'action' (with a boolean "
                f"'fixed') or 'skip', got {raw!r}"
            )

    # -- helpers --------------------------------------------------------------------------------
    def _soft(self, failed: tuple[str, ...]) -> dict[str, ev.Reported]:
        return described_failures(self._model.network, failed)

    def _check_open(self) -> None:
        if self.resolved:
            raise SessionError(
                f"the problem is already fixed (by {self.fixed_by!r}); undo() to go back"
            )

    def __repr__(self) -> str:
        return f"<Session {self._model.name!r}: {self._summary()}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{e.kind}</td><td><code>{escape(e.id)}</code></td>"
            f"<td>{escape(e.value)}</td></tr>"
            for e in self._history
        )
        history = (
            "<table><thead><tr><th>step</th><th>id</th><th>result</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        top = self.posterior.head(TOP_CAUSES)
        return (
            f"<p><b>Session</b> <code>{escape(self._model.name)}</code>: "
            f"{escape(self._summary())}</p>{history}"
            + probability_table(zip(map(str, top.index), top.tolist()), "cause")
        )

    def _summary(self) -> str:
        """Entries, answers and actions, open or fixed, and the top cause."""
        answers = sum(e.kind == "answer" for e in self._history)
        actions = sum(e.kind == "action" for e in self._history)
        state = f"fixed by {self.fixed_by}" if self.resolved else "open"
        top = self.posterior.head(1)
        return (
            f"{_count(len(self._history), 'entry', 'entries')} "
            f"({_count(answers, 'answer', 'answers')}, {_count(actions, 'action', 'actions')}), "
            f"{state}; top cause {top.index[0]} {float(top.iloc[0]):.1%}"
        )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _entry_json(entry: Entry) -> dict[str, object]:
    if entry.kind == "answer":
        return {"kind": "answer", "id": entry.id, "state": entry.value}
    if entry.kind == "action":
        return {"kind": "action", "id": entry.id, "fixed": entry.value == "fixed"}
    return {"kind": "skip", "id": entry.id}


def _read_document(model: Model, text: str) -> list[object]:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise SessionError(f"a saved session must be JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise SessionError(f"not a saved syncdx session (expected format {FORMAT_NAME!r})")
    if document.get("version") != FORMAT_VERSION:
        raise SessionError(
            f"saved session format version {document.get('version')!r} is not supported "
            f"(this syncdx reads version {FORMAT_VERSION})"
        )
    if document.get("model") != model.name:
        raise SessionError(
            f"the session was saved with model {document.get('model')!r}, not {model.name!r}"
        )
    history = document.get("history")
    if not isinstance(history, list):
        raise SessionError("a saved session needs a 'history' list")
    return history
