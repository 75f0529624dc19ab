"""The interactive session widget's state machine: answers, failed repairs, undo, reset, and
the view (a JSON-able dict) that the widget's JavaScript draws.

Kept in plain Python, apart from anywidget (`_anywidget`), so it is tested without a browser and
usable by other front ends. Each change updates the view in two parts: `view(step=False)` (the
posterior, the next best question, the explanation: milliseconds) and the planner's next step
(tens of milliseconds on the shipped model; more on large networks), so a front end can show
the first at once.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from syncdx._model import Model
from syncdx._session import Session
from syncdx.diagnosis._display import percent
from syncdx.errors import SyncdxError

#: How many causes the posterior bars show.
BAR_CAUSES = 8


class Board:
    """One diagnosis driven by a form: every question answered or unknown, repairs marked
    "tried, not fixed", undo and reset. `error` holds the last refused change's message."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self._session = Session(model)
        self.error = ""

    @property
    def session(self) -> Session:
        """The session the answers and failures are recorded in (in the order given)."""
        return self._session

    def answer(self, question: str, state: str | None) -> None:
        """Answer `question` with `state`; None or "" makes it unknown again. A refused answer
        (unknown state, impossible with the others) raises and changes nothing."""
        self.error = ""
        if state in (None, ""):
            self._rebuild(drop=question)
        else:
            self._session.answer(question, state, replace=True)

    def mark_failed(self, action: str, failed: bool = True) -> None:
        """Mark `action` tried and not fixed (or, with `failed=False`, not tried after all)."""
        self.error = ""
        if failed:
            if action not in self._session.failed:
                self._session.did(action, fixed=False)
        else:
            self._rebuild(drop=action)

    def undo(self) -> None:
        """Take back the last change (a SessionError when there is none)."""
        self.error = ""
        self._session.undo()

    def reset(self) -> None:
        """Forget every answer and failure."""
        self.error = ""
        self._session = Session(self._model)

    def handle(self, message: dict[str, Any]) -> None:
        """Apply a message from the front end ({"kind": "answer", "id", "value"} | {"kind":
        "failed", "id", "value": bool} | {"kind": "undo"} | {"kind": "reset"}); a refused
        change is kept in `error` instead of raised."""
        kind, node, value = message.get("kind"), str(message.get("id", "")), message.get("value")
        try:
            if kind == "answer":
                self.answer(node, None if value is None else str(value))
            elif kind == "failed":
                self.mark_failed(node, bool(value))
            elif kind == "undo":
                self.undo()
            elif kind == "reset":
                self.reset()
            else:
                raise SyncdxError(f"unknown widget message {kind!r}")
        except SyncdxError as error:
            self.error = str(error).split("\n")[0]

    def _rebuild(self, drop: str) -> None:
        """The session replayed without the entries about `drop`."""
        session = Session(self._model)
        for entry in self._session.history:
            if entry.id == drop:
                continue
            if entry.kind == "answer":
                session.answer(entry.id, entry.value, replace=True)
            elif entry.kind == "action":
                session.did(entry.id, fixed=entry.value == "fixed")
        self._session = session

    # -- what the front end draws ----------------------------------------------------------
    def view(self, *, step: bool = True) -> dict[str, Any]:
        """Everything the widget shows, JSON-able; `step=False` leaves out the planner's step
        (`"step": None`), the slow part."""
        model, session = self._model, self._session
        evidence, failed = session.evidence, set(session.failed)
        return {
            "title": model.network.title or model.name,
            "questions": [
                {
                    "id": v.id,
                    "text": v.text or v.id,
                    "states": list(v.states),
                    "answer": evidence.get(v.id, ""),
                }
                for v in model.network.variables
                if v.role == "observation"
            ],
            "actions": [
                {"id": a.id, "text": a.text, "failed": a.id in failed}
                for a in model.network.actions
            ],
            "posterior": self._bars(),
            "question": self._next_question(),
            "step": self.next_step() if step else None,
            "explanation": self._explanation(),
            "history": len(session.history),
            "error": self.error,
        }

    def next_step(self) -> dict[str, Any]:
        """The planner's next step (kind, id, text, cost, expected cost), or a closed state."""
        step = self._session.plan()
        return {
            "kind": "last resort" if step.last_resort else step.kind,
            "id": step.id,
            "text": step.text,
            "cost": f"{step.cost:g} min",
            "expected": f"{step.expected_cost:.0f} min expected to a fix",
        }

    def _bars(self) -> list[dict[str, Any]]:
        posterior = self._session.posterior.head(BAR_CAUSES)
        texts = {v.id: v.text for v in self._model.network.variables}
        return [
            {"id": c, "text": short(texts[c] or c), "p": p, "label": percent(p)}
            for c, p in zip(map(str, posterior.index), posterior.tolist())
        ]

    def _next_question(self) -> dict[str, Any] | None:
        ranking = self._session.recommend(k=1)
        if ranking.empty:
            return None
        row = ranking.iloc[0]
        return {"id": str(ranking.index[0]), "text": str(row["question"]),
                "gain": f"{float(row['gain']):.2f} bits"}  # fmt: skip

    def _explanation(self) -> dict[str, Any]:
        found = self._session.explain()
        return {
            "cause": found.cause,
            "text": short(found.cause_text or found.cause),
            "headline": f"{percent(found.prior)} before any answer, {percent(found.posterior)} now",
            "rows": [
                {
                    "finding": str(r["finding"]),
                    "answer": str(r["answer"]),
                    "bits": float(r["weight"]),
                }
                for r in found.table.to_dict("records")
            ],
        }


def short(text: str, width: int = 48) -> str:
    """`text` up to its first parenthesis or comma, at most `width` characters."""
    cut = text.split(" (")[0].split(", ")[0]
    return cut if len(cut) <= width else cut[: width - 1].rstrip() + "\u2026"


def standalone_html(view: dict[str, Any], esm: str) -> str:
    """A page drawing `view` with the widget's JavaScript `esm`, outside Jupyter (a static
    snapshot: changes are drawn locally, not sent anywhere)."""
    state, code = (json.dumps(text).replace("</", "<\\/") for text in (view, esm))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{escape(str(view.get("title", "")))}</title></head><body><div id="root"></div>
<script type="module">
const state = {{view: {state}}};
const model = {{get: (k) => state[k], set: (k, v) => {{ state[k] = v; }}, on: () => {{}},
  off: () => {{}}, save_changes: () => {{}}, send: () => {{}}}};
const blob = new Blob([{code}], {{type: "text/javascript"}});
const module = await import(URL.createObjectURL(blob));
module.default.render({{model, el: document.getElementById("root")}});
</script></body></html>"""


def widget(model: Model) -> Any:
    """An interactive session for `model` in Jupyter (anywidget): every question as a
    drop-down (unknown by default), repairs to mark "tried, not fixed", the posterior bars, the
    next best question and step, and the explanation of the top cause. Its state machine is
    `.board` (a `Board`). Needs `pip install 'syncdx[notebook]'`."""
    try:  # on first use: anywidget is an optional extra, and slow to import
        from syncdx._anywidget import SessionWidget
    except ImportError as error:
        raise ImportError(
            "the session widget needs anywidget: pip install 'syncdx[notebook]'"
        ) from error
    return SessionWidget(model)
