"""Where batch output goes, and every failure to write it said in one line.

A regular file (or a new path) is written beside itself and renamed into place once complete
(`syncdx.batch._atomic.atomic_file`); a device, a named pipe or stdout cannot be replaced, so it is
opened and written in place, as the rows come. A symbolic link is followed to what it names.
"""

from __future__ import annotations

import contextlib
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from syncdx.errors import InputError

STDOUT = "<stdout>"


@contextlib.contextmanager
def writing(name: str | None) -> Iterator[None]:
    """An OSError in the block (disk full, file too big, I/O error) as an InputError naming the
    output `name`; a broken pipe passes as it is (the reader of stdout went away)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(f"cannot write: {reason}", file=name) from None


def target(path: str) -> tuple[Path, bool]:
    """The file `path` names, symbolic links followed, and whether it is to be written in place
    (a device, named pipe or socket). InputError for a link loop or a directory, before any
    work is done."""
    try:
        resolved = Path(path).resolve()
        mode = resolved.stat().st_mode if resolved.exists() else None
    except (RuntimeError, OSError) as error:  # RuntimeError: "Symlink loop from ..."
        reason = "a loop of symbolic links" if isinstance(error, RuntimeError) else error.strerror
        raise InputError(f"cannot write: {reason}", file=path) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError("cannot write: a directory; name a .csv or .parquet file", file=path)
    return resolved, mode is not None and not stat.S_ISREG(mode)


def open_in_place(path: str) -> IO[bytes]:
    """The device or named pipe `path` opened for writing (a pipe waits for its reader)."""
    with writing(path):
        return open(path, "wb")


def stdout_buffer() -> IO[bytes]:
    """The binary stdout; InputError if there is none (closed by the shell: `>&-`)."""
    stream = sys.stdout
    if stream is None or stream.closed or not hasattr(stream, "buffer"):
        raise InputError("stdout is closed; write to a file with -o FILE", file=STDOUT)
    return stream.buffer


def partial(error: BaseException, rows: int, name: str) -> None:
    """Note on `error` that `rows` rows already went to `name`, which cannot be taken back."""
    if rows:
        error.add_note(f"{rows:,} rows were already written to {name.strip('<>')}: partial")
