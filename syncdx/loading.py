"""Finding and reading model files: the shipped sync model, syncdx YAML, BIF and XMLBIF."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from syncdx._model_file import MAX_MODEL_BYTES
from syncdx.errors import ModelError
from syncdx.model import Model

#: The model that `load_model()` reads when no path is given.
SHIPPED_MODEL = "icloud_sync.yaml"
YAML_SUFFIXES = (".yaml", ".yml")


def shipped_model_path() -> Path:
    """Where the shipped iMessage / iCloud sync model lives."""
    return Path(str(resources.files("syncdx") / "data" / SHIPPED_MODEL))


def load_model(
    path: str | os.PathLike[str] | None = None, *, max_bytes: int = MAX_MODEL_BYTES
) -> Model:
    """Read and compile a model: the shipped sync model by default, or YAML, BIF, XMLBIF.

    A file larger than `max_bytes` bytes (once decompressed, for .gz) is refused.
    """
    path = shipped_model_path() if path is None else Path(path)
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        from syncdx.authoring import read_yaml_model

        return Model(read_yaml_model(path, max_bytes=max_bytes))
    from syncdx.interop import NETWORK_SUFFIXES, network_format, read_network_file

    if network_format(path):
        return Model(read_network_file(path, max_bytes=max_bytes))
    raise ModelError(
        f"unknown model format {suffix or '(no suffix)'!r}; expected one of "
        f"{', '.join(YAML_SUFFIXES + NETWORK_SUFFIXES)}",
        file=str(path),
    )
