"""What a troubleshooting session did, as a ticket needs it: text, markdown or a dict.

Built from a session's history (answers, actions tried, steps skipped, in order) and its
posterior; the costs come from the model's questions and actions, so `minutes` is the time the
steps taken are expected to have cost (skipped steps cost nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from syncdx.network._network import Network

#: How many of the likeliest causes a summary lists.
SUMMARY_CAUSES = 3


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One step taken: what was asked or tried (`id` and the model's `text`) and its result."""

    kind: str
    id: str
    text: str
    result: str
    minutes: float


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """The end of a session: steps in order, the likeliest causes, the fix and the minutes."""

    model: str
    steps: tuple[SummaryLine, ...]
    causes: tuple[tuple[str, str, float], ...]
    fixed_by: str | None
    finished: bool

    @property
    def minutes(self) -> float:
        """Expected minutes of the questions answered and actions tried."""
        return sum(line.minutes for line in self.steps)

    @property
    def outcome(self) -> str:
        """ "fixed by <action>", "last resort tried" or "open"."""
        if self.fixed_by is not None:
            return f"fixed by {self.fixed_by}"
        return "last resort tried, not fixed" if self.finished else "open"

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values."""
        return {
            "model": self.model,
            "outcome": self.outcome,
            "fixed_by": self.fixed_by,
            "minutes": self.minutes,
            "answers": [_line(s) for s in self.steps if s.kind == "answer"],
            "actions": [_line(s) for s in self.steps if s.kind == "action"],
            "skipped": [s.id for s in self.steps if s.kind == "skip"],
            "causes": [{"id": c, "text": t, "probability": p} for c, t, p in self.causes],
        }

    def to_text(self, *, ids: bool = False) -> str:
        """Plain lines to paste into a ticket (the model's texts; `ids` for node ids)."""
        lines = [f"Outcome: {self.outcome} ({self.minutes:g} min of steps)"]
        lines += _section("Answers", self._rows("answer", ids), "  ")
        lines += _section("Actions tried", self._rows("action", ids), "  ")
        lines += _section("Skipped", self._rows("skip", ids), "  ")
        causes = [f"{p:.0%}  {c if ids else t}" for c, t, p in self.causes]
        return "\n".join([*lines, *_section("Likeliest causes", causes, "  ")])

    def to_markdown(self, *, ids: bool = False) -> str:
        """Markdown: a heading per part, bullets, the outcome in bold."""
        lines = [f"**Outcome:** {self.outcome} ({self.minutes:g} min of steps)"]
        for title, rows in (
            ("Answers", self._rows("answer", ids)),
            ("Actions tried", self._rows("action", ids)),
            ("Skipped", self._rows("skip", ids)),
            ("Likeliest causes", [f"{p:.0%} {c if ids else t}" for c, t, p in self.causes]),
        ):
            if rows:
                lines += ["", f"### {title}", *(f"- {row}" for row in rows)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _rows(self, kind: str, ids: bool) -> list[str]:
        return [
            f"{s.id if ids else s.text}{': ' + s.result if s.result else ''}"
            for s in self.steps
            if s.kind == kind
        ]


def _line(step: SummaryLine) -> dict[str, Any]:
    return {"id": step.id, "text": step.text, "result": step.result, "minutes": step.minutes}


def _section(title: str, rows: Sequence[str], indent: str) -> list[str]:
    return [f"{title}:", *(indent + row for row in rows)] if rows else []


def summarise(
    network: Network,
    history: Iterable[tuple[str, str, str]],
    posterior: Iterable[tuple[str, float]],
    *,
    fixed_by: str | None,
    finished: bool,
) -> SessionSummary:
    """The summary of a session whose `history` is (kind, id, value) entries, oldest first (an
    answer replaced later shows once, with its latest value, where it was last given)."""
    actions = {a.id: a for a in network.actions}
    latest: dict[tuple[str, str], SummaryLine] = {}
    for kind, node, value in history:
        if kind == "action":
            action = actions[node]
            line = SummaryLine(kind, node, action.text, value, action.cost)
        else:
            variable = network.variable(node) if node in network.index else None
            text = (variable.text or node) if variable is not None else actions[node].text
            cost = variable.cost if variable is not None and kind == "answer" else 0.0
            line = SummaryLine(kind, node, text, value, float(cost or 0.0))
        latest.pop((kind, node), None)
        latest[kind, node] = line
    causes = tuple(
        (c, network.variable(c).text or c, float(p)) for c, p in list(posterior)[:SUMMARY_CAUSES]
    )
    return SessionSummary(network.name, tuple(latest.values()), causes, fixed_by, finished)
