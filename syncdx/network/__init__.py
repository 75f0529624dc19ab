"""What a model is: variables, tables, repair actions; read from YAML, BIF or XMLBIF.

This layer imports nothing above it: inference, diagnosis, batch scoring and the command line
take a `Network` as input.
"""

from syncdx.network._authoring import read_yaml_model
from syncdx.network._bif import bundled_network, from_pgmpy, read_network_file, to_pgmpy
from syncdx.network._network import Action, Network, Role, Variable
from syncdx.network._sampling import sample

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
