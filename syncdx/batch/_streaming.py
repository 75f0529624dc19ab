"""Scoring files: CSV or Parquet in, the same rows with their diagnoses out, chunk by chunk.

Reading the next chunk, scoring this one and writing the previous one overlap (two helper
threads), so memory holds about three chunks whatever the size of the file.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from syncdx._counts import count
from syncdx.batch._arrow import ScoredTable, release_unused
from syncdx.batch._formats import label
from syncdx.batch._frames import Frame, Output, PandasFrame
from syncdx.batch._numbers import DEFAULT_PRECISION, Precision, check_precision
from syncdx.batch._readers import Chunks, read_table
from syncdx.batch._scorer import DEFAULT_TOP, Scored, Scorer
from syncdx.batch._writer import write_table
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.diagnosis._display import bar, percent, table
from syncdx.errors import InputError
from syncdx.network._files import read_model_file

if TYPE_CHECKING:
    import pandas as pd

#: Rows scored together when streaming a file: bounds memory, amortises the per-chunk cost.
DEFAULT_CHUNK_ROWS = 50_000
#: Called after each chunk with the rows done so far and the total (None if unknown).
ProgressCallback = Callable[[int, "int | None"], None]


@dataclass(frozen=True, slots=True)
class Summary:
    """What a scoring run did: rows, rows with an error, time, and how often each cause led.

    `counts[i]` is the number of rows whose top cause is `causes[i]`, `probability_sums[i]`
    the sum of its probability over those rows.
    """

    causes: tuple[str, ...]
    rows: int
    errors: int
    seconds: float
    counts: tuple[int, ...]
    probability_sums: tuple[float, ...]
    #: rows flagged "undetermined" (scored with a min_lift; else 0)
    undetermined: int = 0

    @classmethod
    def empty(cls, causes: tuple[str, ...]) -> Summary:
        """No rows yet."""
        return cls(causes, 0, 0, 0.0, (0,) * len(causes), (0.0,) * len(causes))

    @property
    def rate(self) -> float:
        """Rows scored per second."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")

    def add(self, scored: Scored[Output]) -> Summary:
        """This summary plus one more scored chunk."""
        ok = scored.top >= 0
        top_probability = scored.top_probability[ok]
        size = len(self.causes)
        counts = np.bincount(scored.top[ok], minlength=size) + np.array(self.counts)
        sums = np.bincount(scored.top[ok], top_probability, size) + np.array(self.probability_sums)
        return Summary(
            self.causes,
            self.rows + len(scored.top),
            self.errors + int(np.count_nonzero(~ok)),
            self.seconds,
            tuple(int(c) for c in counts),
            tuple(float(s) for s in sums),
            self.undetermined + scored.undetermined,
        )

    def table(self) -> pd.DataFrame:
        """Top causes, most frequent first: rows led, their share, the mean top probability."""
        import pandas as pd

        counts, sums = np.array(self.counts), np.array(self.probability_sums)
        mean = np.divide(sums, counts, out=np.full(len(counts), np.nan), where=counts > 0)
        table = pd.DataFrame(
            {"rows": counts, "share": counts / max(self.rows, 1), "mean_probability": mean},
            index=pd.Index(self.causes, name="top_cause"),
        )
        return table[table["rows"] > 0].sort_values("rows", ascending=False, kind="stable")

    def __repr__(self) -> str:
        rate = f", {self.rate:,.0f} rows/s" if self.seconds > 0 else ""
        led = self.table().head(3)
        top = ", ".join(f"{c} {percent(share)}" for c, share in zip(led.index, led["share"]))
        return (
            f"<Summary {self.rows:,} rows, {self.errors:,} with an error, {self.seconds:.2f} s"
            f"{rate}{'; top causes: ' + top if top else ''}>"
        )

    def _repr_html_(self) -> str:
        """Rows, errors and time, then the causes that led, most often first, with their share
        of the rows (bars) and mean top probability (percentages rounded for people)."""
        led = self.table()
        rows = [
            [f"<code>{escape(str(cause))}</code>", f"{int(n):,}", percent(share), bar(share),
             percent(mean)]
            for cause, n, share, mean in zip(
                led.index, led["rows"], led["share"], led["mean_probability"]
            )
        ]  # fmt: skip
        rate = f" ({self.rate:,.0f} rows/s)" if self.seconds > 0 else ""
        headings = ["top cause", "rows", "share", "", "mean P(top cause)"]
        return (
            f"<div><p><b>Scored {self.rows:,} rows</b>: {self.errors:,} with an error, "
            f"{self.seconds:.2f} s{rate}</p>{table(headings, rows, 'Which cause led')}</div>"
        )


def score_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    model: Diagnoser | str | os.PathLike[str] | None = None,
    top: int = DEFAULT_TOP,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    next_question: bool = False,
    progress: ProgressCallback | None = None,
    min_lift: float | None = None,
    precision: Precision = DEFAULT_PRECISION,
) -> Summary:
    """Score the reports in `src` into `dst` (CSV or Parquet by extension; `-` is stdio CSV).

    With `min_lift`, an `undetermined` column flags rows whose top cause is less than that
    far above its prior (counted in the summary). Streams `chunk_size` rows at a time. `dst`
    appears only once complete. With `strict`, the first row with an error stops the run with
    an InputError naming its line and column. CSV numbers have `precision` decimals (None:
    the shortest text that reads back exactly); Parquet keeps every number exactly.
    """
    chunk_size = count(chunk_size, "chunk_size", minimum=1)
    precision = check_precision(precision)
    scorer = Scorer(
        model if isinstance(model, Diagnoser) else Diagnoser(read_model_file(model)),
        top=top,
        next_question=next_question,
        min_lift=min_lift,
    )
    source, start = os.fspath(src), time.perf_counter()
    with read_table(source, chunk_size) as chunks, write_table(os.fspath(dst), precision) as writer:
        scorer.evidence_columns(chunks.columns, source)
        summary = _stream(scorer, chunks, writer.write, source, strict, progress)
    return dataclasses.replace(summary, seconds=time.perf_counter() - start)


def _stream(
    scorer: Scorer,
    chunks: Chunks,
    write: Callable[[Output], None],
    source: str,
    strict: bool,
    progress: ProgressCallback | None,
) -> Summary:
    """Score every chunk; each is written in the background while the next one is scored."""
    summary = Summary.empty(scorer.model.causes)
    with ThreadPoolExecutor(1, "syncdx-write") as writing:
        pending: Future[None] | None = None
        for frame in _read_ahead(_at_least_one(chunks)):
            scored = scorer.scored(frame, source)
            if strict:
                _stop_at_first_error(scored, source, summary.rows, chunks.locate)
            if pending is not None:
                pending.result()
            pending = writing.submit(_releasing(write), scored.frame)
            _release(scored.frame)
            summary = summary.add(scored)
            if progress is not None:
                progress(summary.rows, chunks.total)
        if pending is not None:
            pending.result()
    return summary


def _releasing(write: Callable[[Output], None]) -> Callable[[Output], None]:
    """`write`, then Arrow's spare memory in the writing thread released (see `_release`)."""

    def run(frame: Output) -> None:
        write(frame)
        _release(frame)

    return run


def _release(frame: Output) -> None:
    """After an Arrow chunk, hand back what Arrow's allocator keeps: it would otherwise keep
    the free pages of every thread that allocated, far more than Arrow holds at any time."""
    if isinstance(frame, ScoredTable):
        release_unused()


def _read_ahead(frames: Iterator[Frame[Output]]) -> Iterator[Frame[Output]]:
    """The frames, each next one read in a background thread while this one is scored."""
    with ThreadPoolExecutor(1, "syncdx-read") as reading:
        upcoming = reading.submit(next, frames, None)
        while (frame := upcoming.result()) is not None:
            upcoming = reading.submit(next, frames, None)
            yield frame


def _at_least_one(chunks: Chunks) -> Iterator[Frame[Output]]:
    """The chunks, or one empty frame with the input's columns if there are none."""
    import pandas as pd

    empty = True
    for frame in chunks.frames:
        empty = False
        yield frame
    if empty:
        yield PandasFrame(
            pd.DataFrame({name: pd.Series([], dtype=object) for name in chunks.columns})
        )


def _stop_at_first_error(
    scored: Scored[Output], source: str, before: int, locate: Callable[[int], int | None]
) -> None:
    """InputError for the first row with an error (`before`: rows in earlier chunks), at the
    line `locate` finds (found while reading: the input is never read again)."""
    bad = np.flatnonzero(scored.culprit != None)  # noqa: E711
    if not bad.size:
        return
    row = int(bad[0])
    record = before + row + 1
    line = locate(record)
    where = "" if line is not None else f"record {record}: "
    column = str(scored.culprit[row])
    message = str(scored.error[row]).removeprefix(f"column {column!r}: ")
    raise InputError(where + message, file=label(source), line=line, column=column)
