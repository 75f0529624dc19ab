"""syncdx: Bayesian diagnosis. Posteriors of causes, the next best question, the cheapest fix.

>>> import syncdx
>>> model = syncdx.load_model()          # the shipped iMessage / iCloud sync model
>>> model.posterior({"storage_full_alert": "yes"}).index[0]
'icloud_storage_full'
"""

from syncdx._learning import evaluate
from syncdx._loading import load_model
from syncdx._model import Model
from syncdx._public import export as _export
from syncdx._scoring import score_file
from syncdx._session import Session
from syncdx._widget import widget
from syncdx.diagnosis._evidence import UNKNOWN_WORDS
from syncdx.diagnosis._plan import Step
from syncdx.diagnosis._summary import SessionSummary
from syncdx.errors import (
    EvidenceError,
    ImpossibleEvidenceError,
    InputError,
    InputWarning,
    ModelError,
    ModelWarning,
    SessionError,
    SyncdxError,
)
from syncdx.network._files import shipped_model_path
from syncdx.network._limits import Limits
from syncdx.network._network import Action, Network, Variable

__all__ = [
    "UNKNOWN_WORDS",
    "Action",
    "EvidenceError",
    "ImpossibleEvidenceError",
    "InputError",
    "InputWarning",
    "Limits",
    "Model",
    "ModelError",
    "ModelWarning",
    "Network",
    "Session",
    "SessionError",
    "SessionSummary",
    "Step",
    "SyncdxError",
    "Variable",
    "evaluate",
    "load_model",
    "score_file",
    "shipped_model_path",
    "widget",
]
__version__ = "0.1.0"

_export(globals(), __all__, __name__)
