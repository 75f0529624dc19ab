"""Scoring beyond one machine: Dask partitions through the same scorer as the local engine.

The input is a file or a glob of files (CSV or Parquet); each partition (a CSV file, or a block
of one when `blocksize` is given; a Parquet row group) is scored where it lies, by a worker that
loads the model from its file once, and written as one part of the output directory
(`part-00000.csv`, ... or `.parquet`, in input order). Columns, their types, rows and errors are
those of the local engine: CSV files and Parquet row groups are read by its readers (Parquet as
Arrow types, so an integer column with a null stays integers in every part). Only blocks of CSV
are read by Dask's reader (pandas'). The parts appear only when every part is written, and
only where syncdx may write (see `syncdx._part_folder`: a new, empty or previous output folder).

Needs the `dask` extra: pip install 'syncdx[dask]'.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import importlib
import os
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

import numpy as np

from syncdx.batch._formats import STDIO, require_pyarrow, table_format
from syncdx.batch._numbers import DEFAULT_PRECISION, Precision, check_precision
from syncdx.batch._part_folder import check_part_folder, staged_parts
from syncdx.batch._readers import physical_line, read_table
from syncdx.batch._scorer import DEFAULT_TOP, Scorer
from syncdx.batch._streaming import Summary
from syncdx.batch._writer import TableWriter
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.errors import InputError, MissingExtraError, SyncdxError
from syncdx.network._files import read_model_file

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from distributed import Client

#: A `dask.dataframe.DataFrame`, used through Any: dask annotates the class but not the
#: methods this module calls (`map_partitions`, `to_delayed`), which strict mypy refuses.
DaskFrame: TypeAlias = Any
#: Rows per chunk when a file is read again locally to locate an error.
LOCATE_ROWS = 50_000


class Stats(TypedDict):
    """What each partition reports back: rows, errors, the first error (row, message), and
    per top cause the rows it led and the sum of their top probabilities, and how many rows
    were undetermined."""

    rows: int
    errors: int
    undetermined: int
    first_error: tuple[int, str] | None
    counts: dict[str, int]
    sums: dict[str, float]


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
    min_lift: float | None = None,
    unknown_words: frozenset[str] | None = None,
    precision: Precision = DEFAULT_PRECISION,
) -> Summary:
    """Score `src` (a file or glob) into the directory `dst`, on `scheduler` or a local cluster
    (CSV numbers with `precision` decimals, None: round trip, as `score_file` writes them).

    With `strict`, any bad row fails the run (an InputError naming the first) and `dst` is
    left as it was. `min_lift` adds the `undetermined` column and count, as `score_file` does;
    `unknown_words` are the model's "don't know" words (None: the default set; see
    `Model.unknown_words`).
    """
    if dst == STDIO:
        raise InputError("the Dask engine writes a directory of parts, not stdout: give -o DIR")
    dask_dataframe = _dask_dataframe()
    files, fmt, columns = _inputs(src)
    folder = check_part_folder(dst, files)
    start = time.perf_counter()
    path = _path(model)
    pinned = (path, _model_digest(path))  # the workers compile this content of the file
    options = Options(top, next_question, min_lift, unknown_words)
    scorer = _worker_scorer(pinned, options)
    scorer.evidence_columns(columns, files[0])
    try:
        frame = _read(dask_dataframe, files, fmt, columns, blocksize)
    except ValueError as error:  # Dask's CSV reader, on its sample (UnicodeDecodeError, ...)
        raise _unreadable(files, error, blocksize) from None
    meta = scorer.score(frame._meta)
    scored = frame.map_partitions(
        _score_partition, pinned, options, meta=meta, align_dataframes=False
    )
    out_fmt = table_format(dst) if Path(dst).suffix else fmt
    with _client(scheduler), staged_parts(folder) as staging:
        try:
            part_fmt = "parquet" if out_fmt == "parquet" else "csv"
            stats = _write_parts(scored, staging, part_fmt, check_precision(precision))
        except SyncdxError:  # raised by a worker (the model file changed, ...): as it is
            raise
        except ValueError as error:  # Dask's CSV reader failed (UnicodeDecodeError, ParserError)
            raise _unreadable(files, error, blocksize) from None
        if strict:
            _raise_first_error(stats, files if blocksize is None else None)
    return _summary(scorer.model, stats, time.perf_counter() - start)


def _dask_dataframe() -> ModuleType:
    """The `dask.dataframe` module (distributed checked too), or an error naming the extra."""
    try:
        import dask.dataframe as dd
        import distributed  # noqa: F401
    except ImportError:
        raise MissingExtraError(
            "the Dask engine needs dask and distributed: pip install 'syncdx[dask]'"
        ) from None
    return dd


def _inputs(src: str) -> tuple[list[str], str, tuple[str, ...]]:
    """The files `src` names (sorted), their common format, and their common columns."""
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
    return files, formats.pop(), headers.pop()


def _unreadable(files: list[str], error: ValueError, blocksize: str | int | None) -> InputError:
    """Where Dask's reader failed with `error`: the local reader's error for the first file
    it cannot read either, so that both engines accept the same files."""
    for file in files:
        try:
            with read_table(file, LOCATE_ROWS) as chunks:
                for _ in chunks.frames:
                    pass
        except InputError as found:
            return found
    hint = "; a quoted line break may straddle a block: score without --blocksize"
    return InputError(f"{str(error).splitlines()[0]}{hint if blocksize else ''}", file=files[0])


def _read(
    dd: ModuleType,
    files: list[str],
    fmt: str,
    columns: tuple[str, ...],
    blocksize: str | int | None,
) -> DaskFrame:
    """A Dask frame of `files`: a partition per Parquet row group, per CSV file or block."""
    if fmt == "parquet":
        groups = [(f, i) for f in files for i in range(_parquet(f).num_row_groups)]
        meta = _arrow_frame(_parquet(files[0]).schema_arrow.empty_table())
        return dd.from_map(_row_group, groups, meta=meta)
    if blocksize is None:
        return dd.from_map(_csv_file, files, meta=_text_frame(columns, []))
    return dd.read_csv(
        files,
        blocksize=blocksize,
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,
        encoding="utf-8-sig",
    )


def _parquet(path: str) -> pq.ParquetFile:
    pa = require_pyarrow("Parquet")
    return pa.parquet.ParquetFile(path)


def _row_group(group: tuple[str, int]) -> pd.DataFrame:
    """One row group of a Parquet file."""
    path, index = group
    return _arrow_frame(_parquet(path).read_row_group(index))


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """`table` as pandas with Arrow types: an integer column with nulls stays integers."""
    import pandas as pd

    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


def _csv_file(path: str) -> pd.DataFrame:
    """A CSV file read by the local engine's reader: the same text, the same errors."""
    with read_table(path, LOCATE_ROWS) as chunks:
        frames = [f.to_pandas() for f in chunks.frames]
        return _text_frame(chunks.columns, frames)


def _text_frame(columns: tuple[str, ...], frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of `frames` as one frame of text columns `columns` (none: no rows)."""
    import pandas as pd

    empty = pd.DataFrame({name: pd.Series([], dtype="str") for name in columns})
    return pd.concat([empty, *frames], ignore_index=True).astype("str")


def _path(model: str | os.PathLike[str] | None) -> str | None:
    """The model's file as workers see it (None: the shipped model)."""
    return None if model is None else os.path.abspath(model)


def _model_digest(path: str | None) -> str | None:
    """A hash of the model file's bytes (None: the shipped model, or a file load_model refuses)."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    """How a worker scores: the scorer's options and the model's "don't know" words."""

    top: int
    next_question: bool
    min_lift: float | None
    unknown_words: frozenset[str] | None


@lru_cache(maxsize=8)
def _worker_scorer(model: tuple[str | None, str | None], options: Options) -> Scorer:
    """One scorer per worker process, model file content (path, hash) and options: the model is
    compiled once, not shipped, and compiled again when its file changes (a long-running
    cluster)."""
    path, digest = model
    network = dataclasses.replace(read_model_file(path), unknown_words=options.unknown_words)
    scorer = Scorer(
        Diagnoser(network),
        top=options.top,
        next_question=options.next_question,
        min_lift=options.min_lift,
    )
    if _model_digest(path) != digest:
        raise InputError("the model file changed during the run: score again", file=path)
    return scorer


def _score_partition(
    frame: pd.DataFrame, model: tuple[str | None, str | None], options: Options
) -> pd.DataFrame:
    """The scores of one partition: as many rows as it read, or an error (never a short part)."""
    frame = frame.reset_index(drop=True)
    scored = _worker_scorer(model, options).score(frame)
    if len(scored) != len(frame):
        raise SyncdxError(f"{len(frame)} records read, {len(scored)} rows scored: nothing written")
    return scored


def _write_parts(scored: DaskFrame, folder: str, fmt: str, precision: Precision) -> list[Stats]:
    """Write each partition of `scored` as one part file in `folder`; what each held."""
    dask: Any = importlib.import_module("dask")  # `delayed`, `compute`: untyped, not exported

    parts = scored.to_delayed()
    write = dask.delayed(_write_part, pure=False)
    tasks = [
        write(part, os.path.join(folder, f"part-{i:05d}.{fmt}"), precision)
        for i, part in enumerate(parts)
    ]
    return list(dask.compute(*tasks))


def _write_part(frame: pd.DataFrame, path: str, precision: Precision) -> Stats:
    """Write one scored partition; what it held, for the summary."""
    with open(path, "wb") as handle:
        writer = TableWriter(handle, table_format(path), path, precision)
        writer.write(frame)
        writer.close()
    bad = np.flatnonzero(frame["error"].notna().to_numpy())
    ok = frame.loc[frame["error"].isna(), ["top_cause", "top_probability"]]
    grouped = ok.groupby("top_cause", observed=True)["top_probability"].agg(["count", "sum"])
    flags = frame["undetermined"] if "undetermined" in frame.columns else None
    return {
        "rows": len(frame),
        "undetermined": 0 if flags is None else int((flags == "yes").sum()),
        "errors": len(bad),
        "first_error": (int(bad[0]), str(frame["error"].iloc[bad[0]])) if len(bad) else None,
        "counts": {str(cause): int(n) for cause, n in grouped["count"].items()},
        "sums": {str(cause): float(s) for cause, s in grouped["sum"].items()},
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


def _summary(model: Diagnoser, stats: list[Stats], seconds: float) -> Summary:
    counts = [sum(s["counts"].get(c, 0) for s in stats) for c in model.causes]
    sums = [sum(s["sums"].get(c, 0.0) for s in stats) for c in model.causes]
    return Summary(
        model.causes,
        sum(s["rows"] for s in stats),
        sum(s["errors"] for s in stats),
        seconds,
        tuple(int(c) for c in counts),
        tuple(float(s) for s in sums),
        undetermined=sum(s["undetermined"] for s in stats),
    )


@contextlib.contextmanager
def _client(scheduler: str | None) -> Iterator[Client]:
    """A client of `scheduler`, or of a new local cluster of processes (one per CPU)."""
    distributed: Any = importlib.import_module("distributed")  # LocalCluster: untyped

    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    workers = os.cpu_count() or 1
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
