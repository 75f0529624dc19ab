"""Questions asked of a compiled network: posteriors, the next best question, the next step.

`Diagnoser` compiles a network; the recommender, the planner and batch scoring take it as input.
Most programs use `syncdx.Model`, the facade over it.
"""

from syncdx._public import export as _export
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.diagnosis._evidence import Evidence, SoftEvidence
from syncdx.diagnosis._explain import Explanation
from syncdx.diagnosis._plan import Step, StepKind
from syncdx.diagnosis._triage import Conflict

__all__ = [
    "Conflict",
    "Diagnoser",
    "Evidence",
    "Explanation",
    "SoftEvidence",
    "Step",
    "StepKind",
]

_export(globals(), __all__, __name__)  # Step: syncdx, which re-exports it, names it last
