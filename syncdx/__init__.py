"""syncdx: Bayesian diagnosis. Posteriors of causes, the next best question, the cheapest fix.

>>> import syncdx
>>> model = syncdx.load_model()          # the shipped iMessage / iCloud sync model
>>> model.posterior({"storage_full_alert": "yes"}).index[0]
'icloud_storage_full'
"""

from syncdx.errors import (
    EvidenceError,
    ImpossibleEvidenceError,
    InputError,
    ModelError,
    ModelWarning,
    SessionError,
    SyncdxError,
)
from syncdx.loading import load_model, shipped_model_path
from syncdx.model import Model
from syncdx.network import Action, Network, Variable
from syncdx.plan import Step
from syncdx.session import Session
from syncdx.streaming import score_file

__all__ = [
    "Action",
    "EvidenceError",
    "ImpossibleEvidenceError",
    "InputError",
    "Model",
    "ModelError",
    "ModelWarning",
    "Network",
    "Session",
    "SessionError",
    "Step",
    "SyncdxError",
    "Variable",
    "load_model",
    "score_file",
    "shipped_model_path",
]
__version__ = "0.1.0"
