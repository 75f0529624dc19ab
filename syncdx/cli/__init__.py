"""The command line: `main(argv) -> int` parses arguments and calls the library; each error class
maps to an exit code. The terminal dialogue (`diagnose`) and the score front end live here too.
"""

from syncdx._public import export as _export
from syncdx.cli._main import main

__all__ = ["main"]

_export(globals(), __all__, __name__)
