"""`evaluate`: a model scored on resolved cases (the facade over `syncdx.learn`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from syncdx._model import Model
    from syncdx.learn._evaluate import Evaluation

#: Cases replayed by default for the troubleshooting view.
REPLAY_CASES = 1000


def evaluate(model: Model, cases: pd.DataFrame, *, replay: int | None = REPLAY_CASES) -> Evaluation:
    """Score `model` on resolved `cases`: log loss, top-1/top-3, Brier, per-cause AUC,
    calibration and the troubleshooting replay (on the first `replay` cases with a confirmed
    cause; None for all, 0 for none). `cases` holds a column per observation and the truth as
    `confirmed_cause` and/or `cause_<id>` (1/0) columns. Print the result for the report."""
    from syncdx.learn._evaluate import evaluate_cases  # on first use: keeps `import syncdx` fast

    return evaluate_cases(model.diagnoser, cases, replay_cases=replay)
