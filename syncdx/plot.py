"""Figures for notebooks: the network, posteriors, explanations and recommendations.

matplotlib is an optional extra (`pip install 'syncdx[plot]'`), imported only here. Every
function returns its Axes; every figure has a title. Labels are drawn literally: a `$` in them
does not start mathtext. Figures of a model use its texts (shortened), or its ids with
`ids=True`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from syncdx.network._layout import Page, fit_to_page, layered_drawing

if TYPE_CHECKING:
    import pandas as pd

    from syncdx._model import Model
    from syncdx.diagnosis._evidence import Evidence, SoftEvidence
    from syncdx.diagnosis._explain import Explanation

__all__ = [
    "network_layout",
    "plot_explanation",
    "plot_network",
    "plot_posterior",
    "plot_recommendation",
    "plot_trajectory",
]

#: Inches of figure height per bar, and around the bars (axis label, margins).
BAR_HEIGHT, BAR_MARGIN = 0.35, 1.5


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'syncdx[plot]'") from error
    return plt


def _literal(label: object) -> str:
    """`label` as matplotlib text that shows it as is (dollar signs escaped)."""
    return str(label).replace("$", r"\$")


def plot_posterior(
    posterior: pd.Series,
    *,
    prior: pd.Series | None = None,
    top: int | None = 10,
    ax: Any = None,
    title: str = "Most probable causes",
) -> Any:
    """Horizontal bars of P(cause present), likeliest on top; `prior` adds hollow markers."""
    ranked = posterior.sort_values(ascending=False)
    shown = (ranked if top is None else ranked.head(top))[::-1]
    if ax is None:
        ax = _pyplot().subplots(figsize=(7, BAR_HEIGHT * len(shown) + BAR_MARGIN))[1]
    positions = range(len(shown))
    ax.barh(positions, shown.to_numpy(), color="#3b75af", label="posterior")
    ax.set_yticks(positions, [_literal(cause) for cause in shown.index])
    if prior is not None:
        ax.scatter(
            prior.reindex(shown.index).to_numpy(),
            positions,
            facecolors="none",
            edgecolors="#c44e52",
            zorder=3,
            label="prior",
        )
        ax.legend(loc="lower right")
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(cause present)")
    ax.set_title(_literal(title))
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()
    return ax


def plot_trajectory(
    steps: Mapping[str, pd.Series],
    *,
    causes: Iterable[str] | None = None,
    ax: Any = None,
    title: str = "How the causes move with each answer",
) -> Any:
    """Lines of each cause's probability across a sequence of answers (label -> posterior);
    `causes` picks the lines (default: the five that get likeliest)."""
    import pandas as pd

    table = pd.DataFrame(dict(steps))
    if causes is None:
        causes = list(table.max(axis=1).sort_values(ascending=False).head(5).index)
    causes = list(causes)
    unknown = [c for c in causes if c not in table.index]
    if unknown:
        raise ValueError(
            f"unknown cause(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(map(str, table.index))}"
        )
    ax = ax or _pyplot().subplots(figsize=(8, 4))[1]
    positions = range(table.shape[1])
    for cause in causes:
        ax.plot(positions, table.loc[cause].to_numpy(), marker="o", label=_literal(cause))
    labels = [_literal(label) for label in table.columns]
    ax.set_xticks(positions, labels, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(cause present)")
    ax.set_title(_literal(title))
    if causes:
        ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    ax.figure.tight_layout()
    return ax


# -- the network ----------------------------------------------------------------------------------
#: Face colours by role, and the shade of a cause's posterior.
ROLE_COLOURS = {
    "cause": "#f6d5d5",
    "hidden": "#e4e4e4",
    "observation": "#d7e6f4",
    "action": "#dcefd5",
}
PRESENT_COLOUR = (0.77, 0.31, 0.32)
#: Characters per label line, and most lines per label (the first clause of a node's text,
#: wrapped on words; one too long ends in "…" after a whole word).
LABEL_WIDTH, LABEL_LINES = 18, 4
#: The labels' font size (points) on the figure plot_network makes; the widest such figure
#: (inches: about 950 pixels, a notebook's width, at 100 dpi), and its margins.
FONT_SIZE, MAX_WIDTH, MARGIN, TITLE_ROOM = 9.0, 9.5, 0.1, 0.45
#: A label's line height and its box's padding, in font sizes.
LINE_HEIGHT, BOX_PAD = 1.2, 0.3


def network_layout(model: Model, *, actions: bool = False) -> dict[str, tuple[float, float]]:
    """{node id: (x, y)} of `plot_network`'s drawing (without evidence), in inches from the
    bottom left: layers top to bottom, a crowded layer folded into sub-rows; with `actions`,
    action ids too, above their causes."""
    labels = {v: _label(model, v, False) for v in _nodes(model, actions)}
    return dict(_page(model, actions, labels).drawing.positions)


def _nodes(model: Model, actions: bool) -> list[str]:
    network = model.network
    extra = [a.id for a in network.actions if a.fixes] if actions else []
    return [*extra, *network.ids()]


def _page(model: Model, actions: bool, labels: Mapping[str, str]) -> Page:
    """The layered drawing fitted to a page, each node a box around its label."""
    network = model.network
    edges = [(a.id, c) for a in network.actions for c in a.fixes] if actions else []
    boxes = {v: _box(labels[v], FONT_SIZE) for v in labels}
    return fit_to_page(layered_drawing(network, edges), boxes, MAX_WIDTH - 2 * MARGIN)


def _box(label: str, font: float) -> tuple[float, float]:
    """How wide and tall (inches) a label's box is at `font` points (its lines measured in
    matplotlib's default font)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    lines = label.split("\n")
    prop = FontProperties(size=font)
    points = max(text_to_path.get_text_width_height_descent(s, prop, False)[0] for s in lines)
    wide = points / font + 2 * BOX_PAD
    tall = len(lines) * LINE_HEIGHT + 2 * BOX_PAD
    return wide * font / 72, tall * font / 72


def short_text(text: str, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    """`text` cut to its first clause and wrapped on words to at most `lines` lines of
    `width` characters; when more would be needed, the last line ends in "…" after a whole
    word (a word longer than a line is broken)."""
    head = text.split(" (")[0].split("; ")[0].rstrip("?.")
    wrapped = textwrap.wrap(head, width, break_on_hyphens=False) or [text]
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    kept = wrapped[: lines - 1]
    words = wrapped[lines - 1].split()
    while len(words) > 1 and len(" ".join(words)) + 2 > width:
        words.pop()
    return "\n".join([*kept, " ".join(words) + " \u2026"])


def _label(model: Model, node: str, ids: bool) -> str:
    network = model.network
    text = network.variable(node).text if node in network.index else network.action(node).text
    return _literal(node if ids or text in ("", node) else short_text(text))


def plot_network(
    model: Model,
    evidence: Evidence | None = None,
    *,
    soft: SoftEvidence | None = None,
    actions: bool = False,
    ids: bool = False,
    ax: Any = None,
) -> Any:
    """The whole network, layered top to bottom (causes, hidden nodes, observations; actions
    above the causes with `actions`), the order in each layer chosen for few edge crossings,
    a crowded layer folded into sub-rows so that labels stay readable at a notebook's width
    (9-point labels on a figure at most 9.5 inches wide; in a given `ax`, scaled to it).

    With evidence (or soft evidence), each node shows its posterior: a cause its
    P(present), shaded; any other node its likeliest state; observed nodes get a thick border
    and their answer. Labels are the model's texts, their first clause wrapped on words (ids
    with `ids=True`).
    """
    shown = _posterior_labels(model, evidence, soft) if evidence or soft else {}
    labels = {v: _label(model, v, ids) + shown.get(v, ("", 0.0))[0] for v in _nodes(model, actions)}
    page = _page(model, actions, labels)
    ax, font = _page_axes(page, ax)
    for route in page.drawing.routes.values():
        ax.plot(*zip(*route), color="#9a9a9a", linewidth=0.7, zorder=1)
    observed = _observed(model, evidence)
    for node, (x, y) in page.drawing.positions.items():
        role = model.network.variable(node).role if node in model.network.index else "action"
        face = _shade(shown[node][1]) if node in shown and role == "cause" else ROLE_COLOURS[role]
        thick = node in observed
        ax.text(
            x, y, labels[node], ha="center", va="center", fontsize=font, zorder=3,
            linespacing=LINE_HEIGHT,
            bbox={"boxstyle": f"round,pad={BOX_PAD}", "facecolor": face,
                  "edgecolor": "black" if thick else "#666666", "linewidth": 1.8 if thick else 0.6},
        )  # fmt: skip
    title = model.network.title or model.name
    ax.set_title(_literal(title + (" (given the evidence)" if shown else "")))
    return ax


def _page_axes(page: Page, ax: Any) -> tuple[Any, float]:
    """Axes showing the page (a new figure its size, in inches, if `ax` is None) and the
    labels' font size there: FONT_SIZE, scaled to a given `ax`."""
    wide, tall = page.width + 2 * MARGIN, page.height + 2 * MARGIN
    font = FONT_SIZE
    if ax is None:
        figure = _pyplot().figure(figsize=(wide, tall + TITLE_ROOM))
        ax = figure.add_axes((0.0, 0.0, 1.0, tall / (tall + TITLE_ROOM)))
    else:
        box = ax.get_position()
        inches = ax.figure.get_size_inches()
        font *= min(box.width * inches[0] / wide, box.height * inches[1] / tall)
    ax.set_xlim(-MARGIN, page.width + MARGIN)
    ax.set_ylim(-MARGIN, page.height + MARGIN)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    return ax, font


def _shade(p: float) -> tuple[float, float, float]:
    """White at 0 to the 'present' colour at 1."""
    return tuple(1.0 - p * (1.0 - c) for c in PRESENT_COLOUR)  # type: ignore[return-value]


def _observed(model: Model, evidence: Evidence | None) -> set[str]:
    from syncdx.diagnosis import _evidence as ev

    return {model.network.variables[v].id for v in ev.encode(model.network, evidence)}


def _posterior_labels(
    model: Model, evidence: Evidence | None, soft: SoftEvidence | None
) -> dict[str, tuple[str, float]]:
    """{node: (an extra label line, P(present) for causes)} given the evidence."""
    marginals = model.marginals(evidence, soft=soft)
    observed = _observed(model, evidence)
    out = {}
    for node, dist in marginals.items():
        variable = model.network.variable(node)
        if node in observed:
            out[node] = (f"\n= {_literal(dist.idxmax())}", 0.0)
        elif variable.role == "cause":
            present = 1.0 - float(dist[variable.normal])
            out[node] = (f"\npresent {present:.0%}", present)
        else:
            out[node] = (f"\n{_literal(dist.idxmax())} {float(dist.max()):.0%}", 0.0)
    return out


# -- explanations and recommendations ------------------------------------------------------------
def plot_explanation(explanation: Explanation, *, ids: bool = False, ax: Any = None) -> Any:
    """A waterfall from the prior to the posterior log-odds of the cause (bits): a bar for the
    prior, one per finding (green up, red down), one for the posterior."""
    table = explanation.table
    labels = ["prior"]
    for row in table.to_dict("records"):
        name = row["finding"] if ids or not row["text"] else short_text(row["text"], 40, 1)
        labels.append(_literal(f"{name} = {row['answer']}"))
    labels.append("posterior")
    weights = [0.0 if not math.isfinite(w) else float(w) for w in table["weight"]]
    starts, ends, level = [0.0], [explanation.prior_log_odds], explanation.prior_log_odds
    for w in weights:
        starts.append(level)
        level += w
        ends.append(level)
    starts.append(0.0)
    ends.append(explanation.posterior_log_odds)
    colours = ["#888888"] + ["#4c9a2a" if w > 0 else "#c44e52" for w in weights] + ["#3b75af"]
    if ax is None:
        ax = _pyplot().subplots(figsize=(8, BAR_HEIGHT * len(labels) + BAR_MARGIN + 0.4))[1]
    positions = list(range(len(labels)))[::-1]
    lefts = [min(a, b) for a, b in zip(starts, ends)]
    ax.barh(positions, [abs(b - a) for a, b in zip(starts, ends)], left=lefts, color=colours)
    ax.set_yticks(positions, labels)
    ax.axvline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel("log-odds of the cause (bits)")
    cause = explanation.cause if ids else short_text(explanation.cause_text, 60, 1)
    ax.set_title(
        _literal(f"Why: {cause}\n{explanation.prior:.1%} \u2192 {explanation.posterior:.1%}")
    )
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()
    return ax


def plot_recommendation(
    table: pd.DataFrame, *, by: str = "gain", top: int = 10, ids: bool = False, ax: Any = None
) -> Any:
    """Bars of each question's expected information gain (`by="gain"`, bits) or gain per
    minute (`by="gain_per_minute"`), best on top, for a `Model.recommend` table."""
    if by not in ("gain", "gain_per_minute"):
        raise ValueError(f"by must be 'gain' or 'gain_per_minute', got {by!r}")
    shown = table.sort_values(by, ascending=False).head(top)[::-1]
    labels = [
        _literal(str(i) if ids else short_text(str(q), 60, 1))
        for i, q in zip(shown.index, shown["question"])
    ]
    if ax is None:
        ax = _pyplot().subplots(figsize=(8, BAR_HEIGHT * len(shown) + BAR_MARGIN + 0.4))[1]
    positions = range(len(shown))
    ax.barh(positions, shown[by].to_numpy(), color="#3b75af")
    ax.set_yticks(positions, labels)
    ax.set_xlabel("expected information gain (bits)" if by == "gain" else "bits per minute")
    ax.set_title("Which question to ask next")
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()
    return ax
