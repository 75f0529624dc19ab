"""Scores of probabilistic predictions against the truth: pure numpy, rows first.

`probabilities` and `truth` are (cases, causes): P(cause present) and 1/0 for present/absent.
Log loss is in nats, clipped at `EPS` so a confident miss costs a large finite amount.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from syncdx.network._network import FloatArray

#: Probabilities are clipped to [EPS, 1 - EPS] for the log loss.
EPS = 1e-15
#: A cause given less than this and present (or more than 1 - this and absent) "surprised".
SURPRISE = 0.05


def log_loss(probabilities: FloatArray, truth: npt.NDArray[np.bool_]) -> FloatArray:
    """Per cause: the mean over cases of -log P(the cause's true state), in nats."""
    p = np.clip(probabilities, EPS, 1.0 - EPS)
    return np.asarray(-np.where(truth, np.log(p), np.log1p(-p)).mean(axis=0), dtype=np.float64)


def brier(probabilities: FloatArray, truth: npt.NDArray[np.bool_]) -> FloatArray:
    """Per cause: the mean squared difference between P(present) and present (1) or not (0)."""
    return np.asarray(((probabilities - truth) ** 2).mean(axis=0), dtype=np.float64)


def auc(scores: FloatArray, labels: npt.NDArray[np.bool_]) -> float:
    """Area under the ROC curve: P(a random positive scores above a random negative), ties
    counting one half (Mann-Whitney U from average ranks); NaN with only one class."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    average = (starts + ends + 1) / 2.0  # ranks from 1, averaged over each run of ties
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(average, ends - starts)
    u = ranks[labels].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def top_k(probabilities: FloatArray, confirmed: npt.NDArray[np.intp], k: int) -> FloatArray:
    """Per case with a confirmed cause (index >= 0): 1.0 if that cause is among the k likeliest
    (ties broken towards the confirmed cause's disfavour: it needs strictly fewer above it)."""
    rows = np.flatnonzero(confirmed >= 0)
    own = probabilities[rows, confirmed[rows]]
    above = (probabilities[rows] > own[:, None]).sum(axis=1)
    tied = (probabilities[rows] == own[:, None]).sum(axis=1) - 1
    return np.asarray(above + tied < k, dtype=np.float64)


def reliability(
    probabilities: FloatArray, truth: npt.NDArray[np.bool_], bins: int = 10
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Over every (case, cause): per equal-width bin of P(present), the edges (bins + 1), the
    count, the mean predicted probability and the observed frequency (NaN in an empty bin)."""
    p, y = probabilities.ravel(), truth.ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore"):
        predicted = np.bincount(which, weights=p, minlength=bins) / count
        observed = np.bincount(which, weights=y.astype(np.float64), minlength=bins) / count
    return edges, count, predicted, observed


def expected_calibration_error(
    count: FloatArray, predicted: FloatArray, observed: FloatArray
) -> float:
    """ECE: the count-weighted mean over bins of |observed frequency - mean prediction|."""
    filled = count > 0
    gaps = np.abs(observed[filled] - predicted[filled])
    return float((count[filled] * gaps).sum() / count.sum()) if filled.any() else float("nan")


def surprises(probabilities: FloatArray, truth: npt.NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """Netica's "times surprised": (given < SURPRISE, of those present; given > 1 - SURPRISE,
    of those absent), counted over every (case, cause)."""
    low, high = probabilities < SURPRISE, probabilities > 1.0 - SURPRISE
    return int(low.sum()), int((low & truth).sum()), int(high.sum()), int((high & ~truth).sum())
