"""`syncdx simulate`, `syncdx evaluate` and `syncdx fit`: cases in, a report or a model out.

The command line reads and writes case tables with pandas (CSV, or Parquet by the `.parquet`
suffix); the library below takes and returns DataFrames.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from syncdx.cli._models import load
from syncdx.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    import pandas as pd

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_simulate(commands: Subparsers) -> None:
    """The `simulate` command's arguments."""
    simulate = commands.add_parser(
        "simulate",
        help="draw simulated resolved cases from a model",
        description="Draw N cases by forward sampling: one column per observation (blank where "
        "unreported), cause_<id> (0/1) per cause, and confirmed_cause.",
    )
    add = simulate.add_argument
    add("-n", type=_count, required=True, metavar="N", help="number of cases")
    add("-o", "--output", default="-", help="CSV or .parquet file; - for CSV on stdout")
    add("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    add("--seed", type=int, default=None, help="random seed (same seed, same cases)")
    add("--missing", type=_fraction, default=0.0, help="fraction of answers left blank")
    add("--fault-mix", choices=("prior", "single"), default="prior", help="causes per case")
    simulate.set_defaults(command=run_simulate)


def run_simulate(args: argparse.Namespace, out: TextIO) -> int:
    """Write the simulated cases."""
    model = load(args)
    cases = model.sample(args.n, seed=args.seed, missing=args.missing, fault_mix=args.fault_mix)
    write_table(cases, args.output, out)
    return 0


def write_table(frame: pd.DataFrame, path: str, out: TextIO) -> None:
    """`frame` as CSV to `out` (path `-`), or to a CSV or Parquet file."""
    if path == "-":
        frame.to_csv(out, index=False)
    elif path.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def read_cases(path: str) -> pd.DataFrame:
    """A case table from a CSV or Parquet file (`-`: CSV on stdin), every cell as text."""
    import pandas as pd

    if path != "-" and not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    try:
        if path.endswith(".parquet"):
            return pd.read_parquet(path).astype(object)
        source = sys.stdin if path == "-" else path
        return pd.read_csv(source, dtype=str, keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the cases: {error}") from None


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, got {value}")
    return value


def add_evaluate(commands: Subparsers) -> None:
    """The `evaluate` command's arguments."""
    evaluate = commands.add_parser(
        "evaluate",
        help="score a model on resolved cases (log loss, top-k, calibration, replay)",
        description="Score the model's posteriors on CASES, a table with a column per "
        "observation and the truth as confirmed_cause and/or cause_<id> (1/0) columns.",
    )
    add = evaluate.add_argument
    add("cases", metavar="CASES", help="CSV or .parquet file; - for CSV on stdin")
    add("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    add("--plot", metavar="DIR", help="write reliability, confusion and AUC figures (PNG) here")
    add("--replay", type=_count, default=1000, help="cases replayed for the troubleshooting view")
    evaluate.set_defaults(command=run_evaluate)


def run_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    """Print the evaluation report; write the figures with --plot."""
    from syncdx._learning import evaluate

    model = load(args)
    report = evaluate(model, read_cases(args.cases), replay=args.replay)
    print(report.table(), file=out)
    if args.plot:
        from syncdx.learn._figures import save_figures

        try:
            paths = save_figures(report, args.plot)
        except ImportError as error:
            raise MissingExtraError(str(error)) from None
        print(f"figures: {', '.join(map(str, paths))}", file=out)
    return 0


def add_fit(commands: Subparsers) -> None:
    """The `fit` command's arguments."""
    fit = commands.add_parser(
        "fit",
        help="fit the model's numbers to resolved cases (EM, the expert model as prior)",
        description="Fit the model's numbers to CASES by EM, each expert number a prior worth "
        "--confidence equivalent cases (confidence: in the model file overrides it; frozen: "
        "true keeps a number), and write the fitted model as YAML.",
    )
    add = fit.add_argument
    add("cases", metavar="CASES", help="CSV or .parquet file; - for CSV on stdin")
    add("-o", "--output", required=True, help="the fitted model file (YAML)")
    add("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    add("--confidence", type=float, default=20.0, help="equivalent cases per expert number")
    add("--max-iter", type=_count, default=50, help="most EM iterations")
    add("--report", action="store_true", help="print the numbers that moved most")
    fit.set_defaults(command=run_fit)


#: Numbers `fit --report` lists.
REPORT_ROWS = 15


def run_fit(args: argparse.Namespace, out: TextIO) -> int:
    """Fit, write the model, and say how far EM went (and, with --report, what moved)."""
    model = load(args)
    fitted = model.fit(read_cases(args.cases), confidence=args.confidence, max_iter=args.max_iter)
    fitted.save(args.output)
    result = fitted.learned
    assert result is not None
    print(
        f"fitted {result.cases:,} cases in {len(result.trace) - 1} EM iterations; "
        f"log likelihood {result.log_likelihood:,.2f}; written to {args.output}",
        file=out,
    )
    if args.report:
        print(result.changes.head(REPORT_ROWS).to_string(index=False, float_format=_f4), file=out)
    return 0


def _f4(x: float) -> str:
    return f"{x:.4f}"
