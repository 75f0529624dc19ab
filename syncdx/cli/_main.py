"""The `syncdx` command: parses arguments, calls the library, maps errors to exit codes.

Exit codes: 0 success, 1 an optional extra is missing (the message says what to pip install),
2 bad arguments or evidence, 3 invalid model, 4 unreadable input or
unwritable output (a directory, a full disk, a closed stdout), 130 (128 + SIGINT) after Ctrl-C
in `score`, 141 (128 + SIGPIPE, as a shell reports it) when the reader of stdout went away.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from syncdx import __version__
from syncdx.cli._display import CAUSES_HELP, bars, causes_list
from syncdx.cli._models import add_check, add_describe, load
from syncdx.cli._replies import parse_answers
from syncdx.cli._score import at_least
from syncdx.diagnosis._evidence import UNKNOWN_WORDS
from syncdx.errors import (
    EvidenceError,
    InputError,
    MissingExtraError,
    ModelError,
    SessionError,
    SyncdxError,
)

#: The exit code when an optional extra is missing (every command; the message says what to
#: pip install).
MISSING_EXTRA = 1
EXIT_CODES: dict[type[SyncdxError], int] = {
    MissingExtraError: MISSING_EXTRA,
    EvidenceError: 2,
    SessionError: 2,
    ModelError: 3,
    InputError: 4,
}
#: The exit code when stdout is a pipe whose reader closed it: 128 + SIGPIPE.
STDOUT_CLOSED = 141

Command = Callable[[argparse.Namespace, TextIO], int]


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    command: Command = args.command
    try:
        with _terminate_as_exit():
            return command(args, out)
    except SyncdxError as error:
        message = "; ".join([str(error), *getattr(error, "__notes__", ())])
        print(f"syncdx: error: {message}", file=sys.stderr)
        return next((code for kind, code in EXIT_CODES.items() if isinstance(error, kind)), 1)
    except BrokenPipeError:
        _drop_stdout()
        return STDOUT_CLOSED


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) for the block, so that it cleans up as after Ctrl-C
    (a half-written output file is removed); only in the main thread, where signals go."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_signal(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)


def _drop_stdout() -> None:
    """Point stdout at the null device, so that Python's flush at exit cannot fail again on
    the closed pipe (the recipe of the `signal` module's documentation)."""
    with contextlib.suppress(OSError, ValueError):  # stdout without a file descriptor: nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncdx", description="Bayesian diagnosis of iMessage / iCloud sync problems."
    )
    parser.add_argument("--version", action="version", version=f"syncdx {__version__}")
    parser.add_argument(
        "--unknown-words",
        type=causes_list,
        metavar="WORDS",
        help='comma-separated answers that mean "don\'t know" (no evidence) for the model of '
        'the command ("" for none; never for a node with a state spelled so); default: '
        + ", ".join(sorted(UNKNOWN_WORDS)),
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_posterior(commands)
    add_describe(commands)
    add_check(commands)
    _add_score(commands)
    _add_diagnose(commands)
    _add_learning(commands)
    return parser


def _add_posterior(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    posterior = commands.add_parser(
        "posterior",
        help="show P(cause present) given answers",
        description="Show the probability of each cause given answers such as paused_banner=yes.",
    )
    posterior.add_argument("answers", nargs="*", metavar="NODE=STATE", help="observed answers")
    posterior.add_argument("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    posterior.add_argument(
        "--top", type=at_least(1), default=None, help="show only the K likeliest (K >= 1)"
    )
    posterior.add_argument("--causes", type=causes_list, help=CAUSES_HELP)
    posterior.set_defaults(command=_posterior)


def _add_score(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from syncdx.batch._numbers import DEFAULT_PRECISION
    from syncdx.batch._scorer import DEFAULT_MIN_LIFT, DEFAULT_TOP
    from syncdx.batch._streaming import DEFAULT_CHUNK_ROWS
    from syncdx.cli._score import at_least, precision, probability, run_score

    score = commands.add_parser(
        "score",
        help="diagnose a table of symptom reports (CSV or Parquet)",
        description="Append P(cause present), the top causes, log P(answers) and an error column "
        "to every row of INPUT; rows keep their order and none is dropped.",
    )
    add = score.add_argument
    add("input", metavar="INPUT", help="CSV or Parquet file, - for CSV on stdin (dask: a glob)")
    add("-o", "--output", default="-", help="CSV or Parquet file (dask: a directory); - stdout")
    add("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    add("--top", type=at_least(0), default=DEFAULT_TOP, help="top causes listed per row")
    add("--strict", action="store_true", help="stop at the first bad row (exit code 4)")
    add("--chunk-size", type=at_least(1), default=DEFAULT_CHUNK_ROWS, help="rows per chunk")
    add("--summary", action="store_true", help="also print the most frequent top causes")
    add("-q", "--quiet", action="store_true", help="no summary line at the end")
    add(
        "--min-lift",
        type=probability,
        default=DEFAULT_MIN_LIFT,
        help="flag a row 'undetermined' when its top cause is less than this above its prior "
        f"(default {DEFAULT_MIN_LIFT}; the column 'undetermined')",
    )
    add(
        "--precision",
        type=precision,
        default=DEFAULT_PRECISION,
        metavar="N|full",
        help=f"decimals of the numbers in CSV output (default {DEFAULT_PRECISION}: "
        "probabilities to within 5e-7); 'full' writes the shortest text that reads back as the "
        "same double; Parquet keeps every number exactly",
    )
    add("--next-question", action="store_true", help="add the most informative next question")
    add("--engine", choices=("local", "dask"), default="local", help="where to score")
    add("--scheduler", metavar="ADDRESS", help="dask: an existing cluster's scheduler")
    add("--blocksize", help="dask: split CSV files into blocks (e.g. 64MB); default: per file")
    score.set_defaults(command=run_score)


def _posterior(args: argparse.Namespace, out: TextIO) -> int:
    model = load(args)
    answers = parse_answers(args.answers, model.network)
    posterior = model.posterior(answers)
    if args.top is not None:
        posterior = posterior.head(args.top)
    given = ", ".join(f"{k}={v}" for k, v in answers.items()) or "no answers"
    print(f"P(cause present | {given})", file=out)
    for line in bars(posterior):
        print(line, file=out)
    return 0


# -- diagnose (_diagnose) ----------
def _add_diagnose(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from syncdx.cli._diagnose import add_arguments, command

    diagnose = commands.add_parser(
        "diagnose",
        help="troubleshoot interactively: the next best question or repair, step by step",
        description="An interactive troubleshooting session. "
        "Replies can also come from --answers FILE (a JSON list) or from stdin when it is not "
        "a terminal.",
    )
    add_arguments(diagnose)
    diagnose.set_defaults(command=command)


# -- learning from cases (_learn) ----------
def _add_learning(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from syncdx.cli._learn import add_evaluate, add_fit, add_simulate

    add_simulate(commands)
    add_evaluate(commands)
    add_fit(commands)
