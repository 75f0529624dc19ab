"""Atomic replacement: a file written beside its destination, renamed into place only once
complete, so an interrupted run never leaves a truncated file where the output should be."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from syncdx.batch._formats import label
from syncdx.batch._outfile import writing
from syncdx.errors import InputError


@contextlib.contextmanager
def atomic_file(path: str) -> Iterator[IO[bytes]]:
    """A binary file beside `path`, renamed to `path` on success and removed on failure.

    A symbolic link is followed (its target is replaced, the link kept); a replaced file keeps
    its permission bits, a new one gets those the umask allows.
    """
    target = Path(path).resolve()
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = 0o666 & ~current_umask()
    try:
        handle = _temporary(target)
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", file=label(path)) from None
    try:
        yield handle
        with writing(path):
            handle.close()
            os.chmod(handle.name, mode)
            os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):  # the disk is full: the error is said already
            handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise


def _temporary(target: Path) -> IO[bytes]:
    """A new file beside `target`, to be renamed to it."""
    return tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )


def current_umask() -> int:
    """The process's umask (read by setting it, and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
