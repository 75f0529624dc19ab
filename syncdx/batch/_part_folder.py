"""The Dask engine's output folder: checked before any scoring; syncdx touches only its own files.

    absent                  created: the parts are staged beside it and renamed into place
    empty                   used
    a previous output       its marker `_SYNCDX_PARTS` lists the parts syncdx wrote there, each
                            with its size and modification time; only those are replaced (each
                            atomically) or removed, nothing else; a part changed since is refused
    anything else           refused with an InputError: a folder holding other files, one
                            holding an input, the current folder or one above it

A symbolic link is followed: the folder it points to is the output folder, under the same rules.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncdx.batch._atomic import current_umask
from syncdx.errors import InputError

#: The file listing the parts syncdx wrote in an output folder (pyarrow datasets skip `_` names).
MARKER = "_SYNCDX_PARTS"
#: The names of the parts syncdx writes: nothing else is ever replaced or removed.
PART_NAME = re.compile(r"part-\d{5}\.(?:csv|parquet)")
MARKER_HEADER = "# written by syncdx: its next run into this folder replaces or removes these parts"
ADVICE = "choose a new or empty folder"


@dataclass(frozen=True, slots=True)
class PartFolder:
    """Where the parts go (links resolved), as the user named it, and a previous run's parts."""

    path: Path
    label: str
    exists: bool
    previous: frozenset[str]


def check_part_folder(dst: str, inputs: Sequence[str]) -> PartFolder:
    """The output folder `dst` for parts, or an InputError saying why syncdx may not write there."""
    target = _resolved(dst)
    if target.exists() and not target.is_dir():
        raise InputError("the Dask engine writes a directory; this is a file", file=dst)
    here = Path.cwd().resolve()
    if target == here or target in here.parents:
        raise InputError(
            "is the current folder, or holds it: the parts need a folder of their own "
            "(e.g. -o scores)",
            file=dst,
        )
    for name in inputs:
        if target in Path(os.path.realpath(name)).parents:
            raise InputError(f"holds the input {name}: write the parts to another folder", file=dst)
    if not target.exists():
        if not target.parent.is_dir():
            raise InputError(f"cannot create: no folder {str(target.parent)!r}", file=dst)
        return PartFolder(target, dst, False, frozenset())
    return PartFolder(target, dst, True, _previous_parts(target, dst))


def _resolved(dst: str) -> Path:
    """`dst` with symbolic links followed (a link to nothing: where it points)."""
    try:
        return Path(os.path.realpath(dst, strict=True))
    except FileNotFoundError:
        return Path(os.path.realpath(dst))
    except OSError as error:  # a link loop, a file used as a folder, no permission
        raise InputError(f"cannot use as the output folder: {error.strerror}", file=dst) from None


def _previous_parts(folder: Path, dst: str) -> frozenset[str]:
    """The parts a previous run wrote in `folder` (none if it is empty); refuse anything else."""
    try:
        entries = set(os.listdir(folder))
    except OSError as error:
        raise InputError(f"cannot list the output folder: {error.strerror}", file=dst) from None
    if not entries:
        return frozenset()
    if MARKER not in entries:
        raise InputError(
            f"is not empty and not a previous syncdx output (it has no {MARKER}); syncdx "
            f"never deletes what it did not write: {ADVICE}",
            file=dst,
        )
    listed = _read_marker(folder, dst)
    others = sorted(entries - listed - {MARKER})
    if others:
        raise InputError(
            f"holds {others[0]!r}, which syncdx did not write: move it away, or {ADVICE}",
            file=dst,
        )
    return frozenset(entries & listed)


def _read_marker(folder: Path, dst: str) -> frozenset[str]:
    """The part names `folder`'s marker lists; an InputError if it or a part is not syncdx's."""
    not_ours = InputError(f"its {MARKER} was not written by syncdx: {ADVICE}", file=dst)
    if not _regular(folder / MARKER):
        raise not_ours
    try:
        text = (folder / MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise not_ours from None
    lines = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    names = [fields[0] for fields in lines]
    if not all(PART_NAME.fullmatch(name) and len(f) <= 2 for name, f in zip(names, lines)):
        raise not_ours
    present = [name for name in names if os.path.lexists(folder / name)]
    if not all(_regular(folder / name) for name in present):
        raise not_ours
    for name, fields in zip(names, lines):
        if name in present and fields[1:] and fields[1] != _stamp(folder / name):
            raise InputError(
                f"holds {name!r}, changed since syncdx wrote it: move it away, or {ADVICE}",
                file=dst,
            )
    return frozenset(names)


def _stamp(path: Path) -> str:
    """A part's size and modification time, as the marker records them: a file written over
    since (by anyone but syncdx) no longer matches."""
    info = path.lstat()
    return f"{info.st_size}:{info.st_mtime_ns}"


def _regular(path: Path) -> bool:
    """Whether `path` is a regular file itself (not a link, folder, device or pipe)."""
    return stat.S_ISREG(path.lstat().st_mode)


@contextlib.contextmanager
def staged_parts(folder: PartFolder) -> Iterator[str]:
    """A fresh directory beside `folder` for the parts; on success they replace the previous
    run's parts (and only those), the marker listing them. On failure nothing changes."""
    try:
        staging = tempfile.mkdtemp(dir=folder.path.parent, prefix=f".{folder.path.name}.")
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", file=folder.label) from None
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp's 0700, for a private staging area
    try:
        yield staging
        _commit(folder, Path(staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit(folder: PartFolder, staging: Path) -> None:
    """Put the parts in `staging` in place: the whole folder if it is new, else part by part."""
    parts = sorted(name for name in os.listdir(staging) if PART_NAME.fullmatch(name))
    try:
        new = {name: _stamp(staging / name) for name in parts}  # a rename keeps both
        if not folder.exists:
            _write_marker(staging, new)
            os.rename(staging, folder.path)
            return
        # Checked again (a file may have appeared since); the marker lists old and new parts
        # while they are swapped, so that an interrupted swap is still recognised as syncdx's
        # (an old part by its name alone: it is either the old file or the new one).
        previous = _previous_parts(folder.path, folder.label)
        _swap_marker(staging, folder.path, {**dict.fromkeys(previous, ""), **new})
        for name in parts:
            os.replace(staging / name, folder.path / name)
        for name in sorted(previous.difference(parts)):
            (folder.path / name).unlink(missing_ok=True)
        _swap_marker(staging, folder.path, new)
    except OSError as error:
        raise InputError(f"cannot write the parts: {error.strerror}", file=folder.label) from None


def _write_marker(folder: Path, parts: Mapping[str, str]) -> None:
    """The marker listing `parts`: a name per line, with its stamp after a tab when known."""
    lines = [f"{name}\t{stamp}" if stamp else name for name, stamp in sorted(parts.items())]
    (folder / MARKER).write_text("\n".join([MARKER_HEADER, *lines]) + "\n", encoding="utf-8")


def _swap_marker(staging: Path, folder: Path, parts: Mapping[str, str]) -> None:
    """Replace `folder`'s marker, atomically, by one listing `parts` (name -> stamp)."""
    _write_marker(staging, parts)
    os.replace(staging / MARKER, folder / MARKER)
