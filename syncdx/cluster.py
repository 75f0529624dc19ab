"""Scoring beyond one machine: Dask partitions through the same scorer as the local engine.

The input is a file or a glob of files (CSV or Parquet); each partition (a CSV file, or a block
of one when `blocksize` is given; a Parquet row group) is scored where it lies, by a worker that
loads the model from its file once, and written as one part of the output directory
(`part-00000.csv`, ... or `.parquet`, in input order). Columns and rows are those of the local
engine. The directory appears only when every part is written.

Needs the `dask` extra: pip install 'syncdx[dask]'.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from syncdx.batch import DEFAULT_TOP, Scorer
from syncdx.errors import InputError, SyncdxError
from syncdx.loading import load_model
from syncdx.model import Model
from syncdx.streaming import Summary
from syncdx.tables import physical_line, read_table, table_format

if TYPE_CHECKING:
    import pandas as pd

#: What each partition reports back: rows, errors, the first error, top-cause tallies.
Stats = dict[str, Any]


def score_dask(
    src: str,
    dst: str,
    *,
    model: str | os.PathLike[str] | None = None,
    top: int = DEFAULT_TOP,
    strict: bool = False,
    next_question: bool = False,
    scheduler: str | None = None,
    blocksize: str | int | None = None,
) -> Summary:
    """Score `src` (a file or glob) into the directory `dst`, on `scheduler` or a local cluster.

    With `strict`, any bad row fails the run (an InputError naming the first) and `dst` is
    left as it was.
    """
    dd = _dask_dataframe()
    files, fmt = _inputs(src)
    start = time.perf_counter()
    scorer = Scorer(load_model(model), top=top, next_question=next_question)
    frame = _read(dd, files, fmt, blocksize)
    meta = scorer.score(frame._meta)
    scored = frame.map_partitions(
        _score_partition, _path(model), top, next_question, meta=meta, align_dataframes=False
    )
    out_fmt = table_format(dst) if Path(dst).suffix else fmt
    with _client(scheduler), _staging(dst) as folder:
        stats = _write_parts(scored, folder, "parquet" if out_fmt == "parquet" else "csv")
        if strict:
            _raise_first_error(stats, files if blocksize is None else None)
    return _summary(scorer.model, stats, time.perf_counter() - start)


def _dask_dataframe() -> Any:
    try:
        import dask.dataframe as dd
        import distributed  # noqa: F401
    except ImportError:
        raise SyncdxError(
            "the Dask engine needs dask and distributed: pip install 'syncdx[dask]'"
        ) from None
    return dd


def _inputs(src: str) -> tuple[list[str], str]:
    """The files `src` names (sorted), their common format, and checked headers."""
    files = sorted(glob.glob(src)) if glob.has_magic(src) else [src]
    if not files:
        raise InputError("no file matches", file=src)
    formats = {table_format(f) for f in files}
    if len(formats) > 1:
        raise InputError("the files mix CSV and Parquet", file=src)
    headers = set()
    for file in files:
        with read_table(file, 1) as chunks:
            headers.add(chunks.columns)
    if len(headers) > 1:
        raise InputError("the files do not all have the same columns", file=src)
    return files, formats.pop()


def _read(dd: Any, files: list[str], fmt: str, blocksize: str | int | None) -> Any:
    if fmt == "parquet":
        return dd.read_parquet(files, split_row_groups=True)
    return dd.read_csv(
        files,
        blocksize=blocksize,
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,
        encoding="utf-8-sig",
    )


def _path(model: str | os.PathLike[str] | None) -> str | None:
    """The model's file as workers see it (None: the shipped model)."""
    return None if model is None else os.path.abspath(model)


@cache
def _worker_scorer(model: str | None, top: int, next_question: bool) -> Scorer:
    """One scorer per worker process (the model is compiled once, not shipped)."""
    return Scorer(load_model(model), top=top, next_question=next_question)


def _score_partition(
    frame: pd.DataFrame, model: str | None, top: int, next_question: bool
) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    return _worker_scorer(model, top, next_question).score(frame)


def _write_parts(scored: Any, folder: str, fmt: str) -> list[Stats]:
    dask: Any = importlib.import_module("dask")  # untyped: used through Any

    parts = scored.to_delayed()
    write = dask.delayed(_write_part, pure=False)
    tasks = [
        write(part, os.path.join(folder, f"part-{i:05d}.{fmt}")) for i, part in enumerate(parts)
    ]
    return list(dask.compute(*tasks))


def _write_part(frame: pd.DataFrame, path: str) -> Stats:
    """Write one scored partition; what it held, for the summary."""
    from syncdx.tables import TableWriter

    with open(path, "wb") as handle:
        writer = TableWriter(handle, table_format(path), path)
        writer.write(frame)
        writer.close()
    bad = np.flatnonzero(frame["error"].notna().to_numpy())
    ok = frame.loc[frame["error"].isna(), ["top_cause", "top_probability"]]
    grouped = ok.groupby("top_cause", observed=True)["top_probability"].agg(["count", "sum"])
    return {
        "rows": len(frame),
        "errors": len(bad),
        "first_error": (int(bad[0]), str(frame["error"].iloc[bad[0]])) if len(bad) else None,
        "counts": grouped["count"].to_dict(),
        "sums": grouped["sum"].to_dict(),
    }


def _raise_first_error(stats: list[Stats], files: list[str] | None) -> None:
    for part, stat in enumerate(stats):
        if stat["first_error"] is None:
            continue
        row, message = stat["first_error"]
        if files is None:
            raise InputError(f"partition {part}, record {row + 1}: {message}")
        line = physical_line(files[part], row + 1) if table_format(files[part]) == "csv" else None
        where = "" if line is not None else f"record {row + 1}: "
        raise InputError(where + message, file=files[part], line=line)


def _summary(model: Model, stats: list[Stats], seconds: float) -> Summary:
    counts = [sum(s["counts"].get(c, 0) for s in stats) for c in model.causes]
    sums = [sum(s["sums"].get(c, 0.0) for s in stats) for c in model.causes]
    return Summary(
        model.causes,
        sum(s["rows"] for s in stats),
        sum(s["errors"] for s in stats),
        seconds,
        tuple(int(c) for c in counts),
        tuple(float(s) for s in sums),
    )


@contextlib.contextmanager
def _client(scheduler: str | None) -> Iterator[Any]:
    """A client of `scheduler`, or of a new local cluster of processes (one per CPU)."""
    distributed: Any = importlib.import_module("distributed")  # untyped: used through Any

    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    workers = os.cpu_count() or 1
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def _staging(dst: str) -> Iterator[str]:
    """A fresh directory beside `dst`, put in its place (replacing it) on success."""
    target = Path(dst)
    if target.exists() and not target.is_dir():
        raise InputError("the Dask engine writes a directory; this is a file", file=dst)
    folder = tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        yield folder
        if target.exists():
            shutil.rmtree(target)
        os.replace(folder, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
