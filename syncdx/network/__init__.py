"""What a model is: variables, tables, repair actions; read from YAML, BIF or XMLBIF.

This layer imports nothing above it: inference, diagnosis, batch scoring and the command line
take a `Network` as input.
"""

import typing as _typing

from syncdx._public import export as _export
from syncdx.network._bif import bundled_network, from_pgmpy, read_network_file, to_pgmpy
from syncdx.network._network import Action, Network, Role, Variable
from syncdx.network._sampling import sample

if _typing.TYPE_CHECKING:
    from syncdx.network._authoring import read_yaml_model

__all__ = [
    "Action",
    "Network",
    "Role",
    "Variable",
    "bundled_network",
    "from_pgmpy",
    "read_network_file",
    "read_yaml_model",
    "sample",
    "to_pgmpy",
]


def __getattr__(name: str) -> _typing.Any:
    """`read_yaml_model` on first use: PyYAML loads only when a YAML model is read, so that
    `import syncdx` stays fast."""
    if name == "read_yaml_model":
        from syncdx.network._authoring import read_yaml_model

        _export({name: read_yaml_model}, [name], __name__)
        return read_yaml_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_export(globals(), __all__, __name__)  # Action, Network, Variable: syncdx names them last
