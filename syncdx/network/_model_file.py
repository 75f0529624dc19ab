"""Reading a model file's text, gzip-compressed or not, up to a size limit.

A small compressed file can expand to gigabytes (a gzip bomb): the text is read in one bounded
read and refused past `MAX_MODEL_BYTES`, before it is decoded or parsed.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from syncdx._counts import count
from syncdx.errors import ModelError

#: The largest model file read (after decompression), in bytes; `load_model(max_bytes=...)`
#: raises it. The largest classic networks (munin, link) hold a few MB.
MAX_MODEL_BYTES = 256 * 2**20


def read_model_text(path: Path, what: str, max_bytes: int = MAX_MODEL_BYTES) -> str:
    """The UTF-8 text of the file at `path` (decompressed if it ends in .gz), at most
    `max_bytes` bytes; a `ModelError` naming the file otherwise (`what` names the thing read)."""
    count(max_bytes, "max_bytes")
    compressed = path.suffix.lower() == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ModelError(f"no such {what} file", file=str(path)) from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip's errors too
        raise ModelError(f"cannot read the {what}: {exc}", file=str(path)) from None
    if len(data) > max_bytes:
        size = " once decompressed" if compressed else ""
        raise ModelError(
            f"the {what} is larger than {max_bytes:,} bytes{size}, the limit; if it is meant to "
            "be, raise the limit: load_model(path, max_bytes=...)",
            file=str(path),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"cannot read the {what}: {exc}", file=str(path)) from None
