"""Figures for notebooks: posteriors as bars, and how they move as answers come in.

matplotlib is an optional extra (`pip install 'syncdx[plot]'`), imported only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'syncdx[plot]'") from error
    return plt


def plot_posterior(
    posterior: pd.Series, *, prior: pd.Series | None = None, top: int | None = 10, ax: Any = None
) -> Any:
    """Horizontal bars of P(cause present), likeliest on top; `prior` adds hollow markers."""
    ranked = posterior.sort_values(ascending=False)
    shown = (ranked if top is None else ranked.head(top))[::-1]
    ax = ax or _pyplot().subplots(figsize=(7, 0.35 * len(shown) + 1))[1]
    ax.barh(shown.index.astype(str), shown.to_numpy(), color="#3b75af", label="posterior")
    if prior is not None:
        ax.scatter(
            prior.reindex(shown.index).to_numpy(),
            range(len(shown)),
            facecolors="none",
            edgecolors="#c44e52",
            zorder=3,
            label="prior",
        )
        ax.legend(loc="lower right")
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(cause present)")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_trajectory(
    steps: Mapping[str, pd.Series], *, causes: list[str] | None = None, ax: Any = None
) -> Any:
    """Lines of each cause's probability across a sequence of answers (label -> posterior)."""
    import pandas as pd

    table = pd.DataFrame(dict(steps))
    if causes is None:
        causes = list(table.max(axis=1).sort_values(ascending=False).head(5).index)
    ax = ax or _pyplot().subplots(figsize=(8, 4))[1]
    for cause in causes:
        ax.plot(range(table.shape[1]), table.loc[cause].to_numpy(), marker="o", label=cause)
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(cause present)")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    ax.figure.tight_layout()
    return ax
