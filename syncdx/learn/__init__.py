"""Learning from resolved cases: evaluate a model on them, and fit its numbers to them.

This layer sits above `diagnosis` (it runs the exact engine through a `Diagnoser`) and takes
cases as pandas DataFrames; reading files is the command line's job.
"""

from syncdx._public import export as _export
from syncdx.learn._evaluate import Evaluation, evaluate_cases

__all__ = ["Evaluation", "evaluate_cases"]

_export(globals(), __all__, __name__)
