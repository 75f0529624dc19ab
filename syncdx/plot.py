"""Figures for notebooks: posteriors as bars, and how they move as answers come in.

matplotlib is an optional extra (`pip install 'syncdx[plot]'`), imported only here. Cause ids
and step labels are drawn literally: a `$` in them does not start mathtext.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

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
    posterior: pd.Series, *, prior: pd.Series | None = None, top: int | None = 10, ax: Any = None
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
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()
    return ax


def plot_trajectory(
    steps: Mapping[str, pd.Series], *, causes: Iterable[str] | None = None, ax: Any = None
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
    if causes:
        ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    ax.figure.tight_layout()
    return ax
