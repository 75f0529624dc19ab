"""`evaluate`: how good a model's posteriors are on resolved cases.

The posterior of every cause is computed from each case's reported answers (observation
columns only: cause columns are the truth, never evidence) and scored against the truth:
log loss (nats, the recommended single number), top-1 and top-3 accuracy of the confirmed
cause, Brier score, per-cause AUC, a reliability table with its expected calibration error,
Netica's "times surprised", and the troubleshooting replay (see `_replay`).

Truth: `cause_<id>` columns give each cause's presence; without them, the confirmed cause is
taken as the only present one. The confirmed cause is `confirmed_cause`, or else the present
cause the model ranks highest (so top-k asks "is a present cause among the k likeliest?").
Cases whose answers the model deems impossible are left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis._diagnoser import Diagnoser, check_frame
from syncdx.errors import InputError
from syncdx.learn import _metrics as m
from syncdx.learn._cases import Cases, read_cases
from syncdx.learn._replay import Replay, replay
from syncdx.network._network import FloatArray

if TYPE_CHECKING:
    import pandas as pd

#: Cases replayed by default for the troubleshooting view (it asks questions one at a time).
REPLAY_CASES = 1000


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The scores of a model on resolved cases; `headline` first, then the tables."""

    model: str
    cases: int
    impossible: int
    log_loss: float
    top1: float
    top3: float
    brier: float
    per_cause: pd.DataFrame
    reliability: pd.DataFrame
    ece: float
    surprises: tuple[int, int, int, int]
    confusion: pd.DataFrame
    replayed: int
    questions: float
    minutes: float
    reached: float

    @property
    def headline(self) -> str:
        """One line: the overall figures."""
        return (
            f"{self.model}: log loss {self.log_loss:.4f}, top-1 {self.top1:.1%}, "
            f"top-3 {self.top3:.1%}, Brier {self.brier:.4f} ({self.cases:,} cases)"
        )

    def table(self) -> str:
        """The whole report as text: the headline, then each part."""
        low, low_hit, high, high_miss = self.surprises
        lines = [
            self.headline,
            f"calibration: ECE {self.ece:.4f}; times surprised: {low_hit:,} of {low:,} "
            f"causes given < 5% were present ({_rate(low_hit, low)}); {high_miss:,} of "
            f"{high:,} given > 95% were absent ({_rate(high_miss, high)})",
            f"troubleshooting replay ({self.replayed:,} cases): {self.questions:.2f} questions, "
            f"{self.minutes:.1f} minutes until the confirmed cause ranks first "
            f"(reached in {self.reached:.1%})",
        ]
        if self.impossible:
            lines.append(f"{self.impossible:,} cases left out: impossible under the model")
        lines += ["", "per cause:", self.per_cause.to_string(float_format=_f)]
        lines += ["", "reliability:", self.reliability.to_string(float_format=_f)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        low, low_hit, high, high_miss = self.surprises
        return (
            f"<p><b>{escape(self.headline)}</b></p><p>ECE {self.ece:.4f}; "
            f"surprised {low_hit:,}/{low:,} (&lt; 5% but present), {high_miss:,}/{high:,} "
            f"(&gt; 95% but absent); replay of {self.replayed:,} cases: "
            f"{self.questions:.2f} questions, {self.minutes:.1f} minutes "
            f"(reached {self.reached:.1%})</p>"
            + self.per_cause.to_html(float_format=_f)
            + self.reliability.to_html(float_format=_f)
        )


def _f(x: float) -> str:
    return f"{x:.4f}"


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "n/a"


def evaluate_cases(
    diagnoser: Diagnoser, cases: pd.DataFrame, *, replay_cases: int | None = REPLAY_CASES
) -> Evaluation:
    """Score the model's posteriors on resolved `cases` (see the module docstring); the
    troubleshooting replay runs on the first `replay_cases` cases with a confirmed cause
    (None: all of them; 0: none)."""
    check_frame(cases)
    read = read_cases(diagnoser, cases)
    if not (read.has_causes or read.has_confirmed):
        raise InputError(
            "the cases give no truth: add a confirmed_cause column or cause_<id> columns (1/0)"
        )
    result = diagnoser.infer_codes(read.codes, read.columns, diagnoser.cause_index)
    keep = result.possible
    p = diagnoser.cause_probabilities(result)[keep]
    truth, confirmed = _truth(read, p, keep)
    return _report(diagnoser, read, keep, p, truth, confirmed, replay_cases)


def _truth(
    read: Cases, p: FloatArray, keep: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """(cases, causes) presence and each case's confirmed cause (-1: none)."""
    confirmed = read.confirmed[keep]
    if read.has_causes:
        present = read.present[keep] == 1
    else:
        present = np.zeros(p.shape, dtype=bool)
        rows = np.flatnonzero(confirmed >= 0)
        present[rows, confirmed[rows]] = True
    if not read.has_confirmed:
        ranked = np.where(present, p, -1.0)
        confirmed = np.where(present.any(axis=1), np.argmax(ranked, axis=1), -1)
    return present, confirmed


def _report(
    diagnoser: Diagnoser,
    read: Cases,
    keep: npt.NDArray[np.bool_],
    p: FloatArray,
    truth: npt.NDArray[np.bool_],
    confirmed: npt.NDArray[np.intp],
    replay_cases: int | None,
) -> Evaluation:
    import pandas as pd

    losses, briers = m.log_loss(p, truth), m.brier(p, truth)
    edges, count, predicted, observed = m.reliability(p, truth)
    chosen = np.flatnonzero(confirmed >= 0)[:replay_cases]
    runs = replay(diagnoser, read.codes[keep][chosen], read.columns, confirmed[chosen])
    return Evaluation(
        model=diagnoser.name,
        cases=int(keep.sum()),
        impossible=int((~keep).sum()),
        log_loss=float(losses.mean()),
        top1=_mean(m.top_k(p, confirmed, 1)),
        top3=_mean(m.top_k(p, confirmed, 3)),
        brier=float(briers.mean()),
        per_cause=_per_cause(diagnoser, p, truth, confirmed, losses, briers),
        reliability=pd.DataFrame(
            {"from": edges[:-1], "to": edges[1:], "count": count.astype(np.int64)}
            | {"predicted": predicted, "observed": observed}
        ),
        ece=m.expected_calibration_error(count, predicted, observed),
        surprises=m.surprises(p, truth),
        confusion=_confusion(diagnoser, p, confirmed),
        replayed=len(runs.reached),
        **_replayed(runs),
    )


def _mean(values: FloatArray) -> float:
    return float(values.mean()) if values.size else float("nan")


def _replayed(runs: Replay) -> dict[str, float]:
    reached = runs.reached
    return {
        "questions": _mean(runs.questions[reached].astype(np.float64)),
        "minutes": _mean(runs.minutes[reached]),
        "reached": _mean(reached.astype(np.float64)),
    }


def _per_cause(
    diagnoser: Diagnoser,
    p: FloatArray,
    truth: npt.NDArray[np.bool_],
    confirmed: npt.NDArray[np.intp],
    losses: FloatArray,
    briers: FloatArray,
) -> pd.DataFrame:
    """One row per cause: how often present, log loss, Brier, AUC and top-1 recall."""
    import pandas as pd

    hits = m.top_k(p, confirmed, 1)
    which = confirmed[confirmed >= 0]
    recall = [_mean(hits[which == k]) for k in range(p.shape[1])]
    return pd.DataFrame(
        {
            "present": truth.sum(axis=0),
            "confirmed": np.bincount(which, minlength=p.shape[1]),
            "log_loss": losses,
            "brier": briers,
            "auc": [m.auc(p[:, k], truth[:, k]) for k in range(p.shape[1])],
            "top1": recall,
        },
        index=pd.Index(diagnoser.causes, name="cause"),
    )


def _confusion(
    diagnoser: Diagnoser, p: FloatArray, confirmed: npt.NDArray[np.intp]
) -> pd.DataFrame:
    """Counts of (confirmed cause, top-1 cause) over the cases with a confirmed cause."""
    import pandas as pd

    rows = confirmed >= 0
    k = p.shape[1]
    pairs = confirmed[rows] * k + np.argmax(p[rows], axis=1)
    counts = np.bincount(pairs, minlength=k * k).reshape(k, k)
    labels = list(diagnoser.causes)
    return pd.DataFrame(
        counts,
        index=pd.Index(labels, name="confirmed"),
        columns=pd.Index(labels, name="top_1"),
    )
