"""`load_model`: read a model file and compile it, the first call of most programs."""

from __future__ import annotations

import os

from syncdx._model import Model
from syncdx.network._files import read_model_file
from syncdx.network._model_file import MAX_MODEL_BYTES


def load_model(
    path: str | os.PathLike[str] | None = None, *, max_bytes: int = MAX_MODEL_BYTES
) -> Model:
    """Read and compile a model: the shipped sync model by default, or YAML, BIF, XMLBIF.

    A file larger than `max_bytes` bytes (once decompressed, for .gz) is refused.
    """
    return Model(read_model_file(path, max_bytes=max_bytes))
