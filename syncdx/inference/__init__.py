"""Exact inference, arrays in and arrays out: a junction tree compiled once per network.

`compile_network(network).run(likelihoods, targets)` gives log P(evidence) per row and the
marginals of `targets`, for a batch of rows of likelihood vectors. No pandas, no files.
"""

from syncdx._public import export as _export
from syncdx.inference._compile import compile_network
from syncdx.inference._engine import JunctionTree, Result

__all__ = ["JunctionTree", "Result", "compile_network"]

_export(globals(), __all__, __name__)
