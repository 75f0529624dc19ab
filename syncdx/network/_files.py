"""Finding and reading model files: the shipped sync model, syncdx YAML, BIF and XMLBIF."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from syncdx.errors import ModelError
from syncdx.network._bif import NETWORK_SUFFIXES, network_format, read_network_file
from syncdx.network._model_file import MAX_MODEL_BYTES
from syncdx.network._network import Network

#: The model that `load_model()` reads when no path is given.
SHIPPED_MODEL = "icloud_sync.yaml"
YAML_SUFFIXES = (".yaml", ".yml")


def shipped_model_path() -> Path:
    """Where the shipped iMessage / iCloud sync model lives."""
    return Path(str(resources.files("syncdx") / "data" / SHIPPED_MODEL))


def read_model_file(
    path: str | os.PathLike[str] | None = None, *, max_bytes: int = MAX_MODEL_BYTES
) -> Network:
    """Read a network: the shipped sync model by default, or a YAML, BIF or XMLBIF file.

    A file larger than `max_bytes` bytes (once decompressed, for .gz) is refused.
    """
    path = shipped_model_path() if path is None else Path(path)
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:  # PyYAML loads here, not at `import syncdx`
        from syncdx.network._authoring import read_yaml_model

        return read_yaml_model(path, max_bytes=max_bytes)
    if network_format(path):
        return read_network_file(path, max_bytes=max_bytes)
    raise ModelError(
        f"unknown model format {suffix or '(no suffix)'!r}; expected one of "
        f"{', '.join(YAML_SUFFIXES + NETWORK_SUFFIXES)}",
        file=str(path),
    )
