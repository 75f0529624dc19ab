"""A troubleshooting session: the answers and repair attempts so far, and what to do next.

A `Session` keeps the history of one diagnosis: answers to questions, actions tried (fixed or
not) and steps skipped. The posterior it shows is the model's posterior given the answers, with
every action that did not fix the problem entered as soft evidence on the causes it targets
(`_repairs.failure_evidence`); `plan()` reasons over fault sets instead (`_plan`).
After an action fixes the problem the session is resolved: further steps are refused until
`undo()`. A session round-trips through JSON for apps that keep a diagnosis across requests;
loading re-validates every entry, in time linear in the history (at most
`diagnosis._history.MAX_HISTORY` entries).
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING

from syncdx._model import Model
from syncdx.diagnosis import _soft
from syncdx.diagnosis._display import probability_table, table
from syncdx.diagnosis._explain import Explanation, Method, explain
from syncdx.diagnosis._findings import Finding, answer_finding, failed_finding
from syncdx.diagnosis._history import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Entry,
    Replay,
    action_entry,
    answer_entry,
    check_open,
    check_room,
    entry_json,
    is_unknown,
    read_document,
    skip_entry,
)
from syncdx.diagnosis._plan import Step
from syncdx.diagnosis._repairs import described_failures
from syncdx.diagnosis._summary import SessionSummary, summarise
from syncdx.errors import SessionError, SyncdxError

if TYPE_CHECKING:
    import pandas as pd


#: How many of the most probable causes a session's HTML view lists.
TOP_CAUSES = 5


class Session:
    """One diagnosis in progress with `model`: answer, try actions, undo, ask what to do next.

    A session holds at most `diagnosis._history.MAX_HISTORY` entries.
    """

    def __init__(self, model: Model) -> None:
        if not isinstance(model, Model):
            raise TypeError(f"a Session needs a syncdx Model, got {type(model).__name__}")
        self._model = model
        self._history: list[Entry] = []

    # -- recording ----------------------------------------------------------------------------
    def answer(
        self, observation: str, state: object, *, replace: bool = False, allow_cause: bool = False
    ) -> None:
        """Record the answer to a question.

        A question already answered is a SessionError naming the first answer, unless
        `replace=True`: then the new answer replaces it (undo() brings the first one back).
        Answers are for observations; a cause is refused (a SessionError) unless
        `allow_cause=True`, for when a cause was confirmed or ruled out by other means: its
        state is then pinned, as an answer is. An EvidenceError if the node or state is
        unknown, an ImpossibleEvidenceError if the answers so far then cannot all hold.
        A "don't know" answer (`model.unknown_words`, e.g. "not sure") that is no state of
        the question records no evidence: the question is skipped, as `skip()` does.
        """
        self._check_open()
        if is_unknown(self._model.network, observation, state):
            self.skip(observation)
            return
        evidence = self.evidence
        entry = answer_entry(
            self._model.network,
            observation,
            state,
            evidence,
            replace=replace,
            allow_cause=allow_cause,
        )
        evidence[entry.id] = entry.value
        self._model.diagnoser.check_possible(evidence, soft=self._soft(self.failed))
        self._history.append(entry)

    def did(self, action: str, fixed: bool) -> None:
        """Record that `action` was tried and whether it fixed the problem (True or False).

        Each action is tried once: reporting again that an action did not fix the problem is a
        SessionError (undo() to correct a report). The last resort, which `plan` proposes as
        long as the session is open, may be reported again; its failure counts once.
        """
        self._check_open()
        failed = self.failed
        entry = action_entry(self._model.network, action, fixed, failed)
        if entry.value == "not fixed":
            self._model.diagnoser.check_possible(self.evidence, soft=self._soft((*failed, action)))
        self._history.append(entry)

    def skip(self, step: str | Step) -> None:
        """Do not propose this question or action again (it cannot be answered or done).

        `step` is a question or action id, or the `Step` that `plan()` returned. An
        EvidenceError if it is neither a question nor an action of the model. The last resort
        is always available, so it cannot be skipped: that is a SessionError.
        """
        self._check_open()
        step_id = step.id if isinstance(step, Step) else step
        self._history.append(skip_entry(self._model.network, step_id))

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

    @property
    def finished(self) -> bool:
        """Whether nothing is left to propose: the problem is fixed, or the last resort was
        tried and did not fix it (`while not session.finished: ...` ends)."""
        if self.resolved:
            return True
        last = {a.id for a in self._model.network.actions if a.last_resort}
        return any(action in last for action in self.failed)

    def summary(self) -> SessionSummary:
        """What the session did, for a ticket: the answers, actions tried and their outcome,
        skipped steps, the likeliest causes, the fix and the minutes the steps cost; as text
        (`str()` or `.to_text()`), `.to_markdown()` or `.to_dict()` (what `syncdx diagnose`
        prints at the end)."""
        history = ((e.kind, e.id, e.value) for e in self._history)
        posterior = zip(map(str, self.posterior.index), self.posterior.tolist())
        return summarise(
            self._model.network,
            history,
            posterior,
            fixed_by=self.fixed_by,
            finished=self.finished,
        )

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
        """The next step by expected cost of repair (`Model.plan`); a SessionError once the
        session is `finished` (fixed, or the last resort tried): nothing is left to propose."""
        self._check_open()
        if self.finished:
            raise SessionError(
                "nothing left to propose: the last resort was tried and did not fix the "
                "problem (session.finished); undo() to go back"
            )
        return self._model.plan(self.evidence, failed=self.failed, skipped=self.skipped)

    def explain(
        self, cause: str | None = None, *, method: Method = "sequential", samples: int = 1000
    ) -> Explanation:
        """The weights of evidence of the answers and failed repairs, in the order they were
        given, on `cause` (default: the likeliest); see `Model.explain`."""
        return explain(
            self._model.diagnoser, self._findings(), cause, method=method, samples=samples
        )

    def _findings(self) -> tuple[Finding, ...]:
        """The answers (each at its latest answer's place) and failed repairs, in order."""
        network = self._model.network
        found: dict[tuple[str, str], Finding] = {}
        for entry in self._history:
            if entry.kind == "answer":
                found.pop(("answer", entry.id), None)
                finding = answer_finding(network, entry.id, entry.value)
                if finding is not None:
                    found["answer", entry.id] = finding
            elif entry.kind == "action" and entry.value == "not fixed":
                found.setdefault(("failed", entry.id), failed_finding(network, entry.id))
        return tuple(found.values())

    # -- persistence --------------------------------------------------------------------------
    def to_json(self) -> str:
        """The session as JSON text (format version, model name, history)."""
        entries = [entry_json(e, self._model.network) for e in self._history]
        document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "model": self._model.name}
        return json.dumps({**document, "history": entries}, indent=1)

    @classmethod
    def from_json(cls, model: Model, text: str | bytes) -> Session:
        """A session from `to_json` text, every entry re-validated against `model`.

        Each entry's names, states and order are checked as it is read (in time linear in the
        history); then that the answers and failures the history ends with are possible. An
        answer to a question answered before replaces the earlier one, as
        `answer(..., replace=True)` does; an answer on a cause needs `"cause": true` in its
        entry, as `answer(..., allow_cause=True)` writes it. A SessionError for a document that
        is not a saved session or holds more than `MAX_HISTORY` entries
        (`diagnosis._history`).
        """
        session = cls(model)
        replay = Replay()
        for number, raw in enumerate(read_document(model.name, text), start=1):
            try:
                entry = replay.entry(model.network, raw)
            except SyncdxError as error:
                error.add_note(f"while loading session history entry {number}")
                raise
            replay.add(entry)
            session._history.append(entry)
        try:
            _ = session.posterior  # the answers and failures it ends with must be possible
        except SyncdxError as error:
            error.add_note("while loading a saved session: its answers and failures together")
            raise
        return session

    # -- helpers --------------------------------------------------------------------------------
    def _soft(self, failed: tuple[str, ...]) -> dict[str, _soft.Reported]:
        return described_failures(self._model.network, failed)

    def _check_open(self) -> None:
        """A SessionError once the problem is fixed, or the history is full."""
        check_open(self.fixed_by)
        check_room(len(self._history))

    def __repr__(self) -> str:
        return f"<Session {self._model.name!r}: {self._summary()}>"

    def _repr_html_(self) -> str:
        """History (numbered, oldest first), the likeliest causes as bars, and the next step."""
        network = self._model.network
        texts = {v.id: v.text for v in network.variables} | {a.id: a.text for a in network.actions}
        rows = [
            [
                str(n),
                e.kind,
                f"<code>{escape(e.id)}</code>",
                escape(texts.get(e.id, "")),
                escape(e.value),
            ]
            for n, e in enumerate(self._history, start=1)
        ]
        history = table(["#", "step", "id", "text", "result"], rows, "History") if rows else ""
        top = self.posterior.head(TOP_CAUSES)
        causes = probability_table(
            zip(map(str, top.index), top.tolist()),
            "cause",
            texts={c: texts[c] for c in map(str, top.index)},
            caption=f"Most probable causes (top {len(top)})",
        )
        after = (
            f"<p><b>Fixed by</b> <code>{escape(self.fixed_by)}</code></p>"
            if self.fixed_by is not None
            else self.plan()._repr_html_()
        )
        return (
            f"<div><p><b>Session</b> <code>{escape(self._model.name)}</code>: "
            f"{escape(self._summary())}</p>{history}{causes}{after}</div>"
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
