"""How an `Explanation` reads: as text (`repr`) and as HTML in a notebook.

Numbers are rounded here, for people; the explanation's table keeps full precision.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncdx.diagnosis._explain import Explanation

#: Width in pixels of the largest weight bar in the HTML view.
BAR_PIXELS = 120
GREEN, RED = "#4c9a2a", "#c44e52"


def bits(value: float) -> str:
    """A weight in bits for people: signed, two decimals, infinities spelled out."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:+.2f}"


def headline(explanation: Explanation) -> str:
    """One line: the cause, prior to posterior, the method."""
    e = explanation
    return (
        f"{e.cause}: {e.prior:.1%} -> {e.posterior:.1%} "
        f"({bits(e.posterior_log_odds - e.prior_log_odds)} bits of log-odds; {e.method})"
    )


def explanation_text(explanation: Explanation) -> str:
    """The explanation as lines of text, one per finding, then the conflict."""
    table = explanation.table
    width = max([len(f"{f} = {a}") for f, a in zip(table["finding"], table["answer"])] + [10])
    lines = [f"Explanation of {headline(explanation)}"]
    for row in table.to_dict("records"):
        line = f"  {row['finding'] + ' = ' + row['answer']:<{width}}  {bits(row['weight']):>7} bits"
        if "posterior" in table:
            line += f"  -> {row['posterior']:.1%}"
        if "std_error" in table:
            line += f"  (+- {row['std_error']:.2f})"
        lines.append(line)
    lines.append(f"Conflict: {explanation.conflict.message}")
    return "\n".join(lines)


def explanation_html(explanation: Explanation) -> str:
    """The explanation as an HTML table with a bar per weight, then the conflict."""
    table = explanation.table
    finite = [abs(w) for w in table["weight"] if math.isfinite(w)]
    scale = BAR_PIXELS / max([*finite, 1e-12])
    rows = "".join(_row(row, scale) for row in table.to_dict("records"))
    extra = "<th>P(cause) after</th>" if "posterior" in table else ""
    extra += "<th>&plusmn; s.e.</th>" if "std_error" in table else ""
    conflict = explanation.conflict
    note = f"<p style='color:{RED if conflict.flagged else '#555'}'>{escape(conflict.message)}</p>"
    return (
        f"<p><b>Why {escape(explanation.cause)}</b> ({escape(explanation.cause_text)}): "
        f"{explanation.prior:.1%} &rarr; {explanation.posterior:.1%}, weights of evidence in bits "
        f"({explanation.method})</p><table><thead><tr><th>finding</th><th>answer</th>"
        f"<th style='text-align:right'>bits</th><th></th>{extra}</tr></thead>"
        f"<tbody>{rows}</tbody></table>{note}"
    )


def _row(row: dict[Any, Any], scale: float) -> str:
    get = row.__getitem__
    weight = float(get("weight"))
    size = BAR_PIXELS if not math.isfinite(weight) else min(BAR_PIXELS, abs(weight) * scale)
    colour = GREEN if weight > 0 else RED
    bar = f"<div style='background:{colour};height:0.8em;width:{size:.0f}px'></div>"
    cells = [
        f"<td title='{escape(str(get('text')))}'><code>{escape(str(get('finding')))}</code></td>",
        f"<td>{escape(str(get('answer')))}</td>",
        f"<td style='text-align:right'>{bits(weight)}</td><td>{bar}</td>",
    ]
    if "posterior" in row:
        cells.append(f"<td style='text-align:right'>{float(get('posterior')):.1%}</td>")
    if "std_error" in row:
        cells.append(f"<td style='text-align:right'>{float(get('std_error')):.2f}</td>")
    return f"<tr>{''.join(cells)}</tr>"
