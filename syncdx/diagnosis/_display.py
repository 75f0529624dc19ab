"""HTML pieces shared by the notebook views of steps, sessions, models and batch summaries.

Numbers are rounded here, for people (`percent`); the objects shown keep full precision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

from syncdx._ranking import descending_row

if TYPE_CHECKING:
    from syncdx.network._network import Network, Variable

#: Width in pixels of a bar at probability 1.
BAR_PIXELS = 160
BAR_COLOUR = "#4c72b0"
TABLE = "<table style='border-collapse:collapse'>"


def ranked(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """(name, probability) pairs most probable first; values within rounding noise of each other
    keep the order given (as `Model.posterior` ranks them)."""
    pairs = list(items)
    return [pairs[i] for i in descending_row([p for _, p in pairs])]


def percent(p: float) -> str:
    """A probability for people: whole percents from 10%, one decimal below, never a false 0 or
    100 ("<0.1%", ">99.9%")."""
    if p != p:  # NaN
        return "n/a"
    if p <= 0.0:
        return "0%"
    if p >= 1.0:
        return "100%"
    if p < 0.001:
        return "<0.1%"
    if p > 0.999:
        return ">99.9%"
    return f"{p:.0%}" if 0.1 <= p <= 0.99 else f"{p:.1%}"


def bar(p: float, colour: str = BAR_COLOUR) -> str:
    """An inline bar `p` of `BAR_PIXELS` long (a thin grey track behind it)."""
    width = max(0.0, min(1.0, p if p == p else 0.0)) * BAR_PIXELS
    return (
        f"<div style='background:#eee;width:{BAR_PIXELS}px;height:0.9em'>"
        f"<div style='background:{colour};width:{width:.0f}px;height:0.9em'></div></div>"
    )


def table(headings: Sequence[str], rows: Iterable[Sequence[str]], caption: str = "") -> str:
    """An HTML table; `headings` and cells are HTML already (escape text before)."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>" for h in headings)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    title = f"<caption style='text-align:left'><b>{caption}</b></caption>" if caption else ""
    return f"{TABLE}{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def probability_rows(
    items: Iterable[tuple[str, float]], texts: dict[str, str] | None = None
) -> list[list[str]]:
    """Rows (id, [text,] percent, bar) for (id, probability) pairs, most probable first (ties
    in the order given)."""
    ordered = ranked(items)
    rows = []
    for name, p in ordered:
        row = [f"<code>{escape(name)}</code>"]
        if texts is not None:
            row.append(escape(texts.get(name, "")))
        rows.append([*row, f"<span style='float:right'>{percent(p)}</span>", bar(p)])
    return rows


def probability_table(
    items: Iterable[tuple[str, float]],
    label: str,
    *,
    texts: dict[str, str] | None = None,
    caption: str = "",
) -> str:
    """A table of (name, probability) rows, most probable first, with percentages and bars."""
    headings = [label, *(["meaning"] if texts is not None else []), "P(present)", ""]
    return table(headings, probability_rows(items, texts), caption)


def sources(network: Network, refs: Sequence[str], assumption: str) -> str:
    """A node's provenance: each reference (its document's title on hover), then the
    assumption in italics."""
    cited = []
    for ref in refs:
        title = network.documents.get(ref.split(" ", 1)[0], "")
        cited.append(f"<span title='{escape(title, quote=True)}'>{escape(ref)}</span>")
    said = [f"<i>{escape(assumption)}</i>"] if assumption else []
    return "; ".join(cited + said)


def model_html(network: Network, prior: Sequence[tuple[str, float]], picture: str) -> str:
    """A model as HTML: its causes with priors and provenance (likeliest first), its questions
    and repairs with theirs (folded), its documents, and `picture` (inline SVG, or empty)."""
    variables = {v.id: v for v in network.variables}
    causes = [
        [f"<code>{escape(c)}</code>", escape(meaning(variables[c])), percent(p), bar(p),
         sources(network, variables[c].source, variables[c].assumption)]
        for c, p in ranked(prior)
    ]  # fmt: skip
    questions = [
        [f"<code>{escape(v.id)}</code>", escape(v.text), escape(" / ".join(v.states)),
         sources(network, v.source, v.assumption)]
        for v in network.variables if v.role == "observation"
    ]  # fmt: skip
    repairs = [
        [f"<code>{escape(a.id)}</code>", escape(a.text), f"{a.cost:g} min",
         escape(", ".join(f"{c} {percent(q)}" for c, q in a.fixes.items())),
         sources(network, a.source, a.assumption)]
        for a in network.actions
    ]  # fmt: skip
    documents = [[escape(k), escape(t)] for k, t in network.documents.items()]
    parts = [
        f"<p><b>{escape(network.title or network.name)}</b> (<code>{escape(network.name)}</code>):"
        f" {len(causes)} causes, {len(questions)} questions, {len(repairs)} repairs</p>",
        table(["cause", "meaning", "prior", "", "source"], causes, "Causes and their priors"),
        _folded(f"Questions ({len(questions)})", ["question", "text", "answers", "source"],
                questions),
        _folded(f"Repairs ({len(repairs)})", ["repair", "text", "cost", "fixes", "source"],
                repairs),
        _folded(f"Documents ({len(documents)})", ["key", "title"], documents),
    ]  # fmt: skip
    if picture:
        parts.append(f"<details><summary>Network picture</summary>{picture}</details>")
    return "<div>" + "".join(parts) + "</div>"


def meaning(variable: Variable) -> str:
    """A cause's text or, with none beyond its id (as from BIF), which states are present."""
    if variable.text not in ("", variable.id):
        return variable.text
    present = " or ".join(s for s in variable.states if s != variable.normal)
    return f"{variable.id} = {present}"


def _folded(summary: str, headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table in a <details> element (nothing when there are no rows)."""
    if not rows:
        return ""
    return f"<details><summary>{escape(summary)}</summary>{table(headings, rows)}</details>"
