"""Batch scoring end to end: `syncdx score` on a file of realistic reports, vs pgmpy row by row.

Makes (once, seeded) a file of reports sampled from the sync model with
`benchmarks/make_reports.py` (or, with `--distinct`, reports whose answers are each a distinct
random pattern: every row is inferred, none reused), then times `syncdx.score_file` on it end
to end (read, score, write) for CSV and Parquet, optionally the Dask engine on a local cluster
too; the median of `--repeat` runs. pgmpy has no batch API: its VariableElimination is timed
row by row on a small sample of the same rows (one query per cause) and extrapolated to the
whole file, which the table says (`--pgmpy-rows 0` skips it).

    python -m benchmarks.bench_score [--rows 1000000] [--pgmpy-rows 200] [--dask]  # repo root
    python -m benchmarks.bench_score --rows 200000 --distinct --repeat 3 --pgmpy-rows 0
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import syncdx
from benchmarks.make_reports import reports
from syncdx import Model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="reports in the file")
    parser.add_argument("--pgmpy-rows", type=int, default=200, help="rows pgmpy is timed on")
    parser.add_argument("--dask", action="store_true", help="also time --engine dask")
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where files go")
    parser.add_argument("--distinct", action="store_true", help="every row a distinct pattern")
    parser.add_argument("--repeat", type=int, default=1, help="runs per work (median shown)")
    parser.add_argument(
        "--precision", default="6", help="CSV decimals, or 'full' (round trip); default 6"
    )
    args = parser.parse_args(argv)
    model = syncdx.load_model()
    folder = Path(args.folder)
    csv_in, parquet_in = _inputs(folder, args.rows, args.distinct)
    precision = None if args.precision == "full" else int(args.precision)
    works = [
        ("csv -> csv", csv_in, folder / "bench-scores.csv"),
        ("parquet -> parquet", parquet_in, folder / "bench-scores.parquet"),
    ]
    results = [
        (f"syncdx {name}", *_median(args.repeat, model, src, dst, precision))
        for name, src, dst in works
    ]
    if args.dask:
        results.append((*_time_dask(csv_in, folder / "bench-scores-dask"), float("nan")))
    pgmpy_rate = _pgmpy_rate(model, csv_in, args.pgmpy_rows) if args.pgmpy_rows else None
    kind = "distinct random" if args.distinct else "sampled"
    print(f"{args.rows:,} {kind} reports, sync model, {os.cpu_count()} CPUs")
    print(f"{'work':<28} {'seconds':>9} {'rows/s':>12} {'CPU-s':>7} {'x pgmpy':>9}")
    for name, seconds, cpu in results:
        rate = args.rows / seconds
        times = f"{rate / pgmpy_rate:>8,.0f}x" if pgmpy_rate else ""
        print(f"{name:<28} {seconds:>9.2f} {rate:>12,.0f} {cpu:>7.2f} {times}")
    if pgmpy_rate:
        print(
            f"{'pgmpy VE, row by row':<28} {args.rows / pgmpy_rate:>9.0f} {pgmpy_rate:>12,.1f} "
            f"{1:>8}x   (timed on {args.pgmpy_rows} rows, extrapolated)"
        )
    return 0


def _inputs(folder: Path, rows: int, distinct: bool = False) -> tuple[Path, Path]:
    """The CSV and Parquet files of `rows` reports, made once (seeded)."""
    stem = f"reports-{'distinct-' if distinct else ''}{rows}"
    csv_in, parquet_in = folder / f"{stem}.csv", folder / f"{stem}.parquet"
    if not csv_in.exists() or not parquet_in.exists():
        frame = distinct_reports(rows, seed=1) if distinct else reports(rows, rows // 10_000, 1)
        frame.to_csv(csv_in, index=False)
        frame.to_parquet(parquet_in, index=False, row_group_size=100_000)
    return csv_in, parquet_in


def distinct_reports(rows: int, seed: int) -> pd.DataFrame:
    """`rows` reports (the columns of `make_reports.reports`) whose answers are each a distinct
    random pattern: every question blank or one of its states, uniformly (none impossible in
    the sync model); a repeated pattern is drawn again."""
    rng = np.random.default_rng(seed)
    model = syncdx.load_model()
    frame = reports(rows, bad=0, seed=seed)
    names = list(model.observations)
    choices = [np.asarray(["", *model.states(name)], dtype=object) for name in names]
    codes = np.empty((0, len(names)), dtype=np.int64)
    while len(codes) < rows:
        more = np.column_stack([rng.integers(len(c), size=rows) for c in choices])
        codes = np.unique(np.concatenate([codes, more]), axis=0)
    codes = rng.permutation(codes)[:rows]
    for j, name in enumerate(names):
        frame[name] = choices[j][codes[:, j]]
    return frame


def _median(
    repeat: int, model: Model, src: Path, dst: Path, precision: int | None
) -> tuple[float, float]:
    """The median seconds and CPU seconds (all threads) of `repeat` runs of `score_file` from
    `src` to `dst` (on a shared machine the CPU seconds vary less than the wall time)."""
    times, cpu = [], []
    for _ in range(max(1, repeat)):
        start, used = time.perf_counter(), time.process_time()
        syncdx.score_file(src, dst, model=model, precision=precision)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - used)
    return float(np.median(times)), float(np.median(cpu))


def _time_dask(src: Path, dst: Path) -> tuple[str, float]:
    from syncdx.batch._dask import score_dask

    start = time.perf_counter()
    score_dask(str(src), str(dst), blocksize="32MB")
    return "syncdx dask csv (local)", time.perf_counter() - start


def _pgmpy_rate(model: Model, src: Path, rows: int) -> float:
    """Rows per second of pgmpy VariableElimination, one query per cause, on `rows` rows."""
    with warnings.catch_warnings():  # pgmpy's import warns about its own deprecations
        warnings.simplefilter("ignore", FutureWarning)
        from pgmpy.inference import VariableElimination

    sample = pd.read_csv(src, dtype=str, keep_default_na=False, nrows=rows)
    scored = model.score(sample)
    names = [c for c in sample.columns if c in model.observations]
    evidence = [
        {
            str(n): model.states(str(n))[_state(model, str(n), v)]
            for n, v in row.items()
            if v.strip()
        }
        for row in sample.loc[scored["error"].isna(), names].to_dict("records")
    ]
    inference = VariableElimination(model.to_pgmpy())
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for answers in evidence:
            for cause in model.causes:
                inference.query([cause], evidence=answers, show_progress=False)
    return len(evidence) / (time.perf_counter() - start)


def _state(model: Model, node: str, value: str) -> int:
    from syncdx.diagnosis._evidence import state_index, words

    return state_index(model.network.variable(node), value, words(model.network))


if __name__ == "__main__":
    raise SystemExit(main())
