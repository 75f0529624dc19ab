"""Batch scoring end to end: `syncdx score` on a file of realistic reports, vs pgmpy row by row.

Makes (once, seeded) a file of reports sampled from the sync model with
`benchmarks/make_reports.py`, then times `syncdx.score_file` on it end to end (read, score,
write) for CSV and Parquet, optionally the Dask engine on a local cluster too. pgmpy has no
batch API: its VariableElimination is timed row by row on a small sample of the same rows (one
query per cause) and extrapolated to the whole file, which the table says.

    python -m benchmarks.bench_score [--rows 1000000] [--pgmpy-rows 200] [--dask]  # repo root
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

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
    args = parser.parse_args(argv)
    model = syncdx.load_model()
    folder = Path(args.folder)
    csv_in, parquet_in = _inputs(folder, args.rows)
    results = [
        _time_file(model, "csv -> csv", csv_in, folder / "bench-scores.csv"),
        _time_file(model, "parquet -> parquet", parquet_in, folder / "bench-scores.parquet"),
    ]
    if args.dask:
        results.append(_time_dask(csv_in, folder / "bench-scores-dask"))
    pgmpy_rate = _pgmpy_rate(model, csv_in, args.pgmpy_rows)
    print(f"{args.rows:,} reports, sync model, {os.cpu_count()} CPUs")
    print(f"{'work':<28} {'seconds':>9} {'rows/s':>12} {'x pgmpy':>9}")
    for name, seconds in results:
        rate = args.rows / seconds
        print(f"{name:<28} {seconds:>9.2f} {rate:>12,.0f} {rate / pgmpy_rate:>8,.0f}x")
    print(
        f"{'pgmpy VE, row by row':<28} {args.rows / pgmpy_rate:>9.0f} {pgmpy_rate:>12,.1f} "
        f"{1:>8}x   (timed on {args.pgmpy_rows} rows, extrapolated)"
    )
    return 0


def _inputs(folder: Path, rows: int) -> tuple[Path, Path]:
    """The CSV and Parquet files of `rows` reports, made once (seeded)."""
    csv_in, parquet_in = folder / f"reports-{rows}.csv", folder / f"reports-{rows}.parquet"
    if not csv_in.exists() or not parquet_in.exists():
        frame = reports(rows, bad=rows // 10_000, seed=1)
        frame.to_csv(csv_in, index=False)
        frame.to_parquet(parquet_in, index=False, row_group_size=100_000)
    return csv_in, parquet_in


def _time_file(model: Model, name: str, src: Path, dst: Path) -> tuple[str, float]:
    start = time.perf_counter()
    syncdx.score_file(src, dst, model=model)
    return f"syncdx {name}", time.perf_counter() - start


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
