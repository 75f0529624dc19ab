"""Figures of an evaluation: a reliability diagram, a confusion matrix, per-cause AUC bars.

matplotlib is an optional extra (`pip install 'syncdx[plot]'`), imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from syncdx.learn._evaluate import Evaluation

#: The files `save_figures` writes into its folder.
FIGURES = ("reliability.png", "confusion.png", "auc.png")


def pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend, or an ImportError saying how
    to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'syncdx[plot]'") from error
    return plt


def save_figures(evaluation: Evaluation, folder: str | Path) -> list[Path]:
    """Write the three figures as PNG files into `folder` (created if missing)."""
    plt = pyplot()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in zip(FIGURES, (reliability_diagram, confusion_matrix, auc_bars)):
        ax = draw(evaluation)
        path = out / name
        ax.figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        paths.append(path)
    return paths


def reliability_diagram(evaluation: Evaluation, ax: Any = None) -> Any:
    """Observed frequency against mean predicted probability per bin, point size by count."""
    table = evaluation.reliability
    filled = table[table["count"] > 0]
    if ax is None:
        ax = pyplot().subplots(figsize=(5, 5))[1]
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfect calibration")
    sizes = 20 + 200 * np.sqrt(filled["count"] / filled["count"].max())
    ax.plot(filled["predicted"], filled["observed"], color="C0")
    ax.scatter(filled["predicted"], filled["observed"], s=sizes, color="C0", label="bins")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted P(cause present)")
    ax.set(ylabel="observed frequency", title=f"Reliability (ECE {evaluation.ece:.4f})")
    ax.legend(loc="upper left")
    return ax


def confusion_matrix(evaluation: Evaluation, ax: Any = None) -> Any:
    """Cases by confirmed cause (rows) and top-1 cause (columns), each row as fractions."""
    counts = evaluation.confusion.to_numpy().astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    labels = list(evaluation.confusion.index)
    if ax is None:
        ax = pyplot().subplots(figsize=(9, 8))[1]
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, label="share of the confirmed cause's cases")
    ticks = range(len(labels))
    ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set(xlabel="top-1 cause", ylabel="confirmed cause")
    ax.set_title(f"Top-1 vs confirmed cause (top-1 {evaluation.top1:.1%})")
    return ax


def auc_bars(evaluation: Evaluation, ax: Any = None) -> Any:
    """Horizontal bars of each cause's AUC, highest on top, with 0.5 (chance) marked."""
    auc = evaluation.per_cause["auc"].dropna().sort_values()
    if ax is None:
        ax = pyplot().subplots(figsize=(7, 0.3 * len(auc) + 1.5))[1]
    ax.barh(range(len(auc)), auc.to_numpy(), color="C2")
    ax.set_yticks(range(len(auc)), [str(c).replace("$", r"\$") for c in auc.index], fontsize=8)
    ax.axvline(0.5, color="0.5", linestyle="--", label="chance")
    ax.set(xlim=(0, 1), xlabel="AUC (P(present case ranked above absent case))")
    ax.set_title("Per-cause AUC")
    ax.legend(loc="lower right")
    return ax
