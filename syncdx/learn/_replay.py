"""The troubleshooting view: replay the question recommender on resolved cases.

Each case starts with no answers. At each step, while the confirmed cause does not rank first,
the recommender picks the question with the highest expected information gain per minute
among those the case can answer (a blank in the case cannot be revealed), and the case's answer
to it is revealed. A case "reaches" its cause when the confirmed cause ranks first; it stops
unreached when no answerable question is left. All cases still running take one step together:
one batched `answer_outcomes` call (every case's evidence and every hypothetical answer) per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.diagnosis._recommend import Layout, answer_outcomes, information_gain, question_cost
from syncdx.network._network import FloatArray


@dataclass(frozen=True, slots=True)
class Replay:
    """Per replayed case: questions asked and minutes spent until the confirmed cause ranked
    first, and whether it ever did."""

    questions: npt.NDArray[np.intp]
    minutes: FloatArray
    reached: npt.NDArray[np.bool_]


def replay(
    diagnoser: Diagnoser, truth: ev.CodeArray, columns: tuple[int, ...], confirmed: np.ndarray
) -> Replay:
    """Replay the recommender on cases with answers `truth` (-1 blank) and confirmed causes."""
    network = diagnoser.network
    layout = Layout.of(network, (network.index[o] for o in diagnoser.observations))
    where = {v: j for j, v in enumerate(columns)}
    full = np.full((len(truth), len(layout.questions)), ev.UNOBSERVED, dtype=np.int16)
    for q, v in enumerate(layout.questions):
        if v in where:
            full[:, q] = truth[:, where[v]]
    cost = np.array([question_cost(network, v) for v in layout.questions])
    asked = np.full(full.shape, ev.UNOBSERVED, dtype=np.int16)
    questions = np.zeros(len(truth), dtype=np.intp)
    minutes = np.zeros(len(truth))
    reached = np.zeros(len(truth), dtype=bool)
    active = np.arange(len(truth))
    while active.size:
        likelihoods = _likelihoods.likelihoods(network.cards, asked[active], layout.questions)
        look = answer_outcomes(diagnoser, likelihoods, len(active), layout)
        first = np.argmax(look.present, axis=1)
        top = look.present[np.arange(len(active)), first]
        done = look.present[np.arange(len(active)), confirmed[active]] >= top
        reached[active[done]] = True
        gain = information_gain(look, layout, "marginal") / cost
        open_ = (asked[active] == ev.UNOBSERVED) & (full[active] != ev.UNOBSERVED)
        gain = np.where(open_, np.nan_to_num(gain, nan=-1.0), -np.inf)
        stuck = ~open_.any(axis=1)
        go = ~done & ~stuck
        rows, pick = active[go], np.argmax(gain[go], axis=1)
        asked[rows, pick] = full[rows, pick]
        questions[rows] += 1
        minutes[rows] += cost[pick]
        active = rows
    return Replay(questions, minutes, reached)
