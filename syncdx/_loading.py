"""`load_model`: read a model file and compile it, the first call of most programs."""

from __future__ import annotations

import os

from syncdx._model import Model
from syncdx.network._files import read_model_file


def load_model(path: str | os.PathLike[str] | None = None) -> Model:
    """Read and compile a model: the shipped sync model by default, or YAML, BIF, XMLBIF."""
    return Model(read_model_file(path))
