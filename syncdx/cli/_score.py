"""What `syncdx score` shows on a terminal: a progress bar on stderr, then one summary line.

The bar uses rich (the `cli` extra) and appears only when stderr is a terminal; its total is
known for Parquet, and estimated for a CSV file from the bytes per row of its first block (it
grows if the estimate falls short). At the end one line on stderr says how many rows were
scored, how many have errors (in the `error` column), how many are undetermined, where the
output went and how long it took (`--quiet` silences it); `--summary` adds the table of the
most frequent top causes. A column that looks like a misspelt observation is a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from syncdx.batch._formats import STDIO
from syncdx.batch._numbers import MAX_PRECISION, ROUND_TRIP
from syncdx.batch._streaming import ProgressCallback, Summary, score_file
from syncdx.cli._models import load
from syncdx.diagnosis import _evidence as ev
from syncdx.errors import InputWarning

#: Most causes listed in the summary table.
SUMMARY_ROWS = 10
#: Bytes of a CSV file read to estimate its number of rows.
SAMPLE_BYTES = 1 << 16


#: The exit code after Ctrl-C: 128 + SIGINT, as a shell reports it.
INTERRUPTED = 130


def run_score(args: argparse.Namespace, out: TextIO) -> int:
    """The `score` command: score INPUT into OUTPUT, optionally printing a summary.

    Ctrl-C stops it with one line and exit code 130 (an output file is left as it was)."""
    try:
        return _score(args, out)
    except KeyboardInterrupt:
        print("syncdx: interrupted", file=sys.stderr)
        return INTERRUPTED


def _score(args: argparse.Namespace, out: TextIO) -> int:
    common = {
        "top": args.top,
        "strict": args.strict,
        "next_question": args.next_question,
        "min_lift": args.min_lift,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        if args.engine == "dask":
            from syncdx.batch._dask import score_dask

            words = None if args.unknown_words is None else ev.word_set(args.unknown_words)
            summary = score_dask(
                args.input,
                args.output,
                model=args.model,
                scheduler=args.scheduler,
                blocksize=args.blocksize,
                unknown_words=words,
                precision=args.precision,
                **common,
            )
        else:
            with progress_bar(estimate_rows(args.input)) as progress:
                summary = score_file(
                    args.input,
                    args.output,
                    model=load(args).diagnoser,  # with the --unknown-words of the command
                    chunk_size=args.chunk_size,
                    progress=progress,
                    precision=args.precision,
                    **common,
                )
    for warning in caught:
        print(f"syncdx: warning: {warning.message}", file=sys.stderr)
    if not args.quiet:
        print(summary_line(summary, args.output, args.min_lift), file=sys.stderr)
    if args.summary:
        print_summary(summary, sys.stderr if args.output == STDIO else out)
    return 0


def summary_line(summary: Summary, output: str, min_lift: float | None) -> str:
    """One line: rows scored, errors (and where to see them), undetermined rows, the output
    and the seconds taken."""
    where = "stdout" if output == STDIO else output
    errors = f"{summary.errors:,} with errors"
    if summary.errors:
        errors += f" (see the error column of {where})"
    undetermined = ""
    if min_lift is not None:
        undetermined = (
            f", {summary.undetermined:,} undetermined (top cause within {min_lift:g} of its prior)"
        )
    return (
        f"syncdx: scored {summary.rows:,} rows, {errors}{undetermined}; wrote {where} "
        f"in {summary.seconds:.2f} s"
    )


def estimate_rows(path: str) -> int | None:
    """About how many rows a CSV file holds: its size over the bytes per row of its first
    SAMPLE_BYTES; None for stdin, a glob, Parquet or an unreadable file."""
    if path == STDIO or not path.lower().endswith((".csv", ".txt", ".tsv")):
        return None
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as file:
            sample = file.read(SAMPLE_BYTES)
    except OSError:
        return None
    lines = sample.count(b"\n")
    if lines < 2:
        return None
    return max(1, round(size * (lines - 1) / lines / (len(sample) / lines)))


@contextlib.contextmanager
def progress_bar(estimate: int | None = None) -> Iterator[ProgressCallback | None]:
    """A progress callback drawing rows of a total (known, or `estimate`d: "~"), rows/s and
    the ETA on stderr; None if stderr is not a terminal."""
    try:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        yield None
        return
    if not sys.stderr.isatty():
        yield None
        return
    columns: list[Any] = [TextColumn("scoring"), BarColumn(), TextColumn("{task.fields[rows]}")]
    columns += [TaskProgressColumn(), TextColumn("{task.fields[speed]}"), TimeRemainingColumn()]
    with Progress(*columns, console=_stderr_console(), transient=True) as bar:
        task = bar.add_task("score", total=estimate, rows="", speed="")

        def update(done: int, total: int | None) -> None:
            guess = total is None
            total = total if total is not None else (max(estimate, done) if estimate else None)
            speed = bar.tasks[0].speed
            bar.update(
                task,
                completed=done,
                total=total,
                rows=rows_text(done, total, estimated=guess),
                speed=f"{speed:,.0f} rows/s" if speed else "",
            )

        yield update


def rows_text(done: int, total: int | None, *, estimated: bool) -> str:
    """ "1,200/~4,000 rows" (an estimated total), "1,200/4,000 rows", or "1,200 rows"."""
    if total is None:
        return f"{done:,} rows"
    return f"{done:,}/{'~' if estimated else ''}{total:,} rows"


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


def print_summary(summary: Summary, out: TextIO) -> None:
    """Rows scored, rows with errors, speed, and the most frequent top causes."""
    print(
        f"scored {summary.rows:,} rows in {summary.seconds:.2f} s "
        f"({summary.rate:,.0f} rows/s); {summary.errors:,} with errors",
        file=out,
    )
    table = summary.table().head(SUMMARY_ROWS)
    if table.empty:
        return
    width = max(len("top cause"), *(len(str(c)) for c in table.index))
    print(f"  {'top cause':<{width}}  {'rows':>9}  {'share':>6}  {'mean p':>6}", file=out)
    for cause, rows, share, mean in table.itertuples(name=None):
        print(f"  {cause!s:<{width}}  {rows:>9,}  {share:>6.1%}  {mean:>6.3f}", file=out)


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer no smaller than `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    return parse


def precision(text: str) -> int | None:
    """An argparse type: decimals from 0 to MAX_PRECISION, or `full` (None: round trip)."""
    if text.strip().lower() == "full":
        return ROUND_TRIP
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_PRECISION:
        raise argparse.ArgumentTypeError(
            f"expected decimals from 0 to {MAX_PRECISION}, or 'full', got {text!r}"
        )
    return value


def probability(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value
