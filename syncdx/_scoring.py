"""`score_file`: batch scoring of a file with a `Model` or a model file, from Python."""

from __future__ import annotations

import os

from syncdx._model import Model
from syncdx.batch._numbers import DEFAULT_PRECISION
from syncdx.batch._scorer import DEFAULT_TOP
from syncdx.batch._streaming import DEFAULT_CHUNK_ROWS, ProgressCallback, Summary
from syncdx.batch._streaming import score_file as _score_file


def score_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    model: Model | str | os.PathLike[str] | None = None,
    top: int = DEFAULT_TOP,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    next_question: bool = False,
    progress: ProgressCallback | None = None,
    min_lift: float | None = None,
    precision: int | None = DEFAULT_PRECISION,
) -> Summary:
    """Score the reports in `src` into `dst` (CSV or Parquet by extension; `-` is stdio CSV).

    `model` is a `Model`, a model file, or None for the shipped model. Streams `chunk_size`
    rows at a time; `dst` appears only once complete. With `strict`, the first row with an
    error stops the run with an InputError naming its line and column. With `min_lift` (e.g.
    0.05), an `undetermined` column flags rows whose top cause is less than that far above its
    prior, and the summary counts them. CSV output writes numbers with `precision` decimals
    (default 6: probabilities to within 5e-7); None writes the shortest text that reads back
    as the same double. Parquet keeps every number exactly.
    """
    return _score_file(
        src,
        dst,
        model=model.diagnoser if isinstance(model, Model) else model,
        top=top,
        strict=strict,
        chunk_size=chunk_size,
        next_question=next_question,
        progress=progress,
        min_lift=min_lift,
        precision=precision,
    )
