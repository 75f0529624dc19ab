"""A troubleshooting session: the answers and repair attempts so far, and what to do next.

A `Session` keeps the history of one diagnosis: answers to questions, actions tried (fixed or
not) and steps skipped. The posterior it shows is the model's posterior given the answers, with
every action that did not fix the problem entered as soft evidence on the causes it targets
(`_repairs.failure_evidence`); `plan()` reasons over fault sets instead (`_plan`).
After an action fixes the problem the session is resolved: further steps are refused until
`undo()`. A session round-trips through JSON for apps that keep a diagnosis across requests;
loading re-validates every entry, in time linear in the history (at most `MAX_HISTORY` entries).
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx._model import Model
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _soft
from syncdx.diagnosis._display import probability_table, table
from syncdx.diagnosis._explain import Explanation, Method, explain
from syncdx.diagnosis._findings import Finding, answer_finding, failed_finding
from syncdx.diagnosis._plan import Step, check_steps
from syncdx.diagnosis._repairs import described_failures
from syncdx.diagnosis._summary import SessionSummary, summarise
from syncdx.errors import EvidenceError, SessionError, SyncdxError

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.network._network import Network

EntryKind = Literal["answer", "action", "skip"]
#: Version of the JSON written by `Session.to_json`.
FORMAT_VERSION = 1
FORMAT_NAME = "syncdx-session"
#: The most entries a session holds (and a saved session may hold).
MAX_HISTORY = 10_000
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
    """One diagnosis in progress with `model`: answer, try actions, undo, ask what to do next.

    A session holds at most `MAX_HISTORY` entries.
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
        if _is_unknown(self._model, observation, state):
            self.skip(observation)
            return
        evidence = self.evidence
        entry = _answer_entry(
            self._model, observation, state, evidence, replace=replace, allow_cause=allow_cause
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
        entry = _action_entry(self._model, action, fixed, failed)
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
        self._history.append(_skip_entry(self._model, step.id if isinstance(step, Step) else step))

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
        history = [_entry_json(e, self._model.network) for e in self._history]
        document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "model": self._model.name}
        return json.dumps({**document, "history": history}, indent=1)

    @classmethod
    def from_json(cls, model: Model, text: str | bytes) -> Session:
        """A session from `to_json` text, every entry re-validated against `model`.

        Each entry's names, states and order are checked as it is read (in time linear in the
        history); then that the answers and failures the history ends with are possible. An
        answer to a question answered before replaces the earlier one, as
        `answer(..., replace=True)` does; an answer on a cause needs `"cause": true` in its
        entry, as `answer(..., allow_cause=True)` writes it. A SessionError for a document that
        is not a saved session or holds more than `MAX_HISTORY` entries.
        """
        session = cls(model)
        replay = _Replay()
        for number, raw in enumerate(_read_document(model, text), start=1):
            try:
                entry = replay.entry(model, raw)
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
        _check_open(self.fixed_by)
        if len(self._history) >= MAX_HISTORY:
            raise SessionError(
                f"a session holds at most {MAX_HISTORY} entries; this one is full (start a "
                "new session, or undo())"
            )

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


def _check_open(fixed_by: str | None) -> None:
    if fixed_by is not None:
        raise SessionError(f"the problem is already fixed (by {fixed_by!r}); undo() to go back")


def _is_unknown(model: Model, observation: str, state: object) -> bool:
    """Whether `state` is a "don't know" word that is no state of `observation` (a known
    node; anything else is left to `_answer_entry` to refuse)."""
    if not isinstance(state, str) or not isinstance(observation, str):
        return False
    if observation not in model.network.index:
        return False
    variable = model.network.variable(observation)
    lookup = ev.spellings(variable, ev.words(model.network))
    return state.strip() != "" and lookup.get(state.strip()) == ev.UNOBSERVED


def _answer_entry(
    model: Model,
    observation: str,
    state: object,
    evidence: Mapping[str, str],
    *,
    replace: bool,
    allow_cause: bool,
) -> Entry:
    """The entry answering `observation` with `state`, checked as `Session.answer` says,
    `evidence` being the answers so far (this does not check that it is possible)."""
    variable = ev.node(model.network, observation)
    if variable.role == "cause" and not allow_cause:
        raise SessionError(
            f"{variable.id!r} is a cause, not a question; to pin it (confirmed or ruled out "
            'by other means) pass allow_cause=True (in a saved session: "cause": true)'
        )
    index = ev.state_index(variable, state, ev.words(model.network))
    if index == ev.UNOBSERVED:
        raise EvidenceError(
            f"the answer to {observation!r} is blank", node=observation, allowed=variable.states
        )
    first = evidence.get(variable.id)
    if first is not None and not replace:
        raise SessionError(
            f"{variable.id!r} is already answered {first!r}; answer(..., replace=True) to "
            "change the answer, or undo()"
        )
    return Entry("answer", variable.id, variable.states[index])


def _action_entry(model: Model, action: str, fixed: object, failed: Collection[str]) -> Entry:
    """The entry for `action` tried, checked as `Session.did` says (not for possibility)."""
    if not isinstance(fixed, bool | np.bool_):
        raise TypeError(f"fixed must be True or False, got {fixed!r}")
    # an EvidenceError naming the actions if unknown
    last_resort = model.network.action(action).last_resort
    if action in failed and not last_resort:
        raise SessionError(
            f"{action!r} was already tried and did not fix the problem; each action is tried "
            "once (undo() to change that report)"
        )
    return Entry("action", action, "fixed" if fixed else "not fixed")


def _skip_entry(model: Model, step: str) -> Entry:
    """The entry skipping `step`, checked as `Session.skip` says."""
    network = model.network
    check_steps(network, [step])
    if any(a.last_resort and a.id == step for a in network.actions):
        raise SessionError(f"{step!r} is the last resort, always available; it cannot be skipped")
    return Entry("skip", step)


@dataclass(slots=True)
class _Replay:
    """What a history read so far says: the answers, the failed actions and the fix."""

    evidence: dict[str, str] = field(default_factory=dict)
    failed: dict[str, None] = field(default_factory=dict)
    fixed_by: str | None = None

    def entry(self, model: Model, raw: object) -> Entry:
        """The entry `raw` (from JSON) stands for, checked against what came before it."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise SessionError(
                f"a history entry must be an object with an 'id', got {reprlib.repr(raw)}"
            )
        _check_open(self.fixed_by)
        kind, node = raw.get("kind"), raw["id"]
        if kind == "answer" and "state" in raw:
            cause = raw.get("cause") is True
            return _answer_entry(
                model, node, raw["state"], self.evidence, replace=True, allow_cause=cause
            )
        if kind == "action" and isinstance(raw.get("fixed"), bool):
            return _action_entry(model, node, raw["fixed"], self.failed)
        if kind == "skip":
            return _skip_entry(model, node)
        raise SessionError(
            "a history entry needs kind 'answer' (with 'state'), 'action' (with a boolean "
            f"'fixed') or 'skip', got {reprlib.repr(raw)}"
        )

    def add(self, entry: Entry) -> None:
        """Take `entry` into account."""
        if entry.kind == "answer":
            self.evidence[entry.id] = entry.value
        elif entry.kind == "action" and entry.value == "not fixed":
            self.failed[entry.id] = None
        elif entry.kind == "action":
            self.fixed_by = entry.id


def _entry_json(entry: Entry, network: Network) -> dict[str, object]:
    if entry.kind == "answer":
        cause = {"cause": True} if network.variable(entry.id).role == "cause" else {}
        return {"kind": "answer", "id": entry.id, "state": entry.value, **cause}
    if entry.kind == "action":
        return {"kind": "action", "id": entry.id, "fixed": entry.value == "fixed"}
    return {"kind": "skip", "id": entry.id}


def _read_document(model: Model, text: str | bytes) -> list[object]:
    """The history of a saved session, its format, version, model and length checked."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise SessionError(f"a saved session must be JSON: {exc}") from None
    except RecursionError:
        raise SessionError(
            "a saved session must be JSON as to_json writes it; this one is nested too deeply"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise SessionError(f"not a saved syncdx session (expected format {FORMAT_NAME!r})")
    version = document.get("version")
    if type(version) is not int or version != FORMAT_VERSION:  # not True, not 1.0
        raise SessionError(
            f"saved session format version {reprlib.repr(version)} is not supported "
            f"(this syncdx reads version {FORMAT_VERSION}, the integer)"
        )
    if document.get("model") != model.name:
        raise SessionError(
            f"the session was saved with model {reprlib.repr(document.get('model'))}, "
            f"not {model.name!r}"
        )
    history = document.get("history")
    if not isinstance(history, list):
        raise SessionError("a saved session needs a 'history' list")
    if len(history) > MAX_HISTORY:
        raise SessionError(
            f"the saved session holds {len(history)} history entries; a session holds at "
            f"most {MAX_HISTORY}"
        )
    return history
