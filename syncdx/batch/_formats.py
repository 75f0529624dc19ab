"""Table formats: which format a path names, how messages name it, whether pyarrow is there.

`-` means stdin (or stdout) and is CSV; otherwise the suffix decides (`.csv`/`.txt`,
`.parquet`/`.pq`). pyarrow is a core dependency; without it CSV falls back to pandas (slower)
and Parquet is refused with a message naming the package.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from syncdx.diagnosis import _columns
from syncdx.errors import InputError, MissingExtraError

STDIO = "-"
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


def label(path: str) -> str:
    """How messages name `path`: `<stdin>` (or stdout) for `-`."""
    return "<stdin>" if path == STDIO else path


def table_format(path: str) -> str:
    """'csv' or 'parquet', from the file name; `-` is CSV."""
    suffix = Path(path).suffix.lower()
    if path == STDIO or suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise InputError(
        f"unknown table format {suffix or '(no suffix)'!r}; expected .csv or .parquet",
        file=label(path),
    )


def require_pyarrow(purpose: str) -> ModuleType:
    """The `pyarrow` module (its csv and parquet modules loaded), or an InputError naming the
    package that provides it."""
    try:
        import pyarrow
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError:  # pragma: no cover - pyarrow is installed in the test environment
        raise MissingExtraError(
            f"{purpose} needs pyarrow (a dependency of syncdx): pip install pyarrow"
        ) from None
    module: ModuleType = pyarrow  # untyped (no stubs): a module is what mypy can say
    return module


def pyarrow_or_none() -> ModuleType | None:
    """The `pyarrow` module, or None where it is not installed (the pandas fallbacks).

    Readers and writers call it through this module, so that a test can take pyarrow away."""
    try:
        return require_pyarrow("fast CSV")
    except InputError:  # pragma: no cover - pyarrow is installed in the test environment
        return None


def check_columns(columns: tuple[str, ...], path: str | None) -> None:
    """InputError if a column name appears twice or two are unnamed (`path` None: a frame)."""
    file = None if path is None else label(path)
    line = 1 if path is not None and table_format(path) == "csv" else None
    _columns.check_column_names(columns, file=file, line=line)
