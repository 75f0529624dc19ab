"""What `syncdx score` shows on a terminal: a progress bar on stderr and a summary table.

The bar uses rich (the `cli` extra) and appears only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from syncdx.batch._streaming import ProgressCallback, Summary, score_file
from syncdx.batch._tables import STDIO

#: Most causes listed in the summary table.
SUMMARY_ROWS = 10


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
        "model": args.model,
        "top": args.top,
        "strict": args.strict,
        "next_question": args.next_question,
    }
    if args.engine == "dask":
        from syncdx.batch._dask import score_dask

        summary = score_dask(
            args.input, args.output, scheduler=args.scheduler, blocksize=args.blocksize, **common
        )
    else:
        with progress_bar() as progress:
            summary = score_file(
                args.input,
                args.output,
                chunk_size=args.chunk_size,
                progress=progress,
                **common,
            )
    if args.summary:
        print_summary(summary, sys.stderr if args.output == STDIO else out)
    return 0


@contextlib.contextmanager
def progress_bar() -> Iterator[ProgressCallback | None]:
    """A progress callback drawing rows, rows/s and the ETA on stderr; None if not a terminal."""
    try:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
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
    columns: list[Any] = [TextColumn("scoring"), BarColumn(), MofNCompleteColumn()]
    columns += [TaskProgressColumn(), TextColumn("{task.speed} rows/s"), TimeRemainingColumn()]
    with Progress(*columns, console=_stderr_console(), transient=True) as bar:
        task = bar.add_task("score", total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


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
