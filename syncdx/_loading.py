"""`load_model`: read a model file and compile it, the first call of most programs."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence

from syncdx._model import Model
from syncdx.diagnosis import _evidence as ev
from syncdx.network._bif import normal_state, with_roles
from syncdx.network._files import read_model_file
from syncdx.network._model_file import MAX_MODEL_BYTES


def load_model(
    path: str | os.PathLike[str] | None = None,
    *,
    max_bytes: int = MAX_MODEL_BYTES,
    causes: Sequence[str] | None = None,
    observations: Sequence[str] | None = None,
    unknown_words: str | Iterable[str] | None = None,
) -> Model:
    """Read and compile a model: the shipped sync model by default, or YAML, BIF, XMLBIF.

    A file larger than `max_bytes` bytes (once decompressed, for .gz) is refused. `causes`
    chooses the nodes to diagnose (default: the model's own; for BIF, its roots): each one's
    normal state is its most probable one a priori. `observations` chooses the nodes a person
    can answer (default: every node not a cause); the rest become hidden. `unknown_words` are
    the answers that mean "don't know" (default `syncdx.UNKNOWN_WORDS`; `[]`: none), never for
    a node that has a state spelled so (see `Model.unknown_words`).
    """
    network = read_model_file(path, max_bytes=max_bytes)
    if unknown_words is not None:
        network = dataclasses.replace(network, unknown_words=ev.word_set(unknown_words))
    model = Model(network)
    if causes is None and observations is None:
        return model
    chosen = tuple(model.causes if causes is None else ev.names(causes, "causes"))
    picked = None if observations is None else ev.names(observations, "observations")
    for name in (*chosen, *(picked or ())):
        model.network.variable(name)  # a ModelError naming an unknown node
    priors = model.marginals(None, chosen)
    normal = {c: normal_state(tuple(map(str, p.index)), p.to_numpy()) for c, p in priors.items()}
    return Model(with_roles(model.network, chosen, picked, normal))
