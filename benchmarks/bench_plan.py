"""The planner's cost on the shipped model: cold, after an answer in a session, and repeated.

Cases are simulated from the model; each session answers the planned question (or, when the
plan is a repair, the first open question) from the case, a few times. "cold" plans with a
model that remembers nothing; "after answer" is the session's next plan; "repeat" plans again
on the same evidence; "widget update" is the widget's whole refresh after the same answer
(posterior bars, next question, explanation and next step). Medians in ms.
Run: python benchmarks/bench_plan.py [--cases 8] [--answers 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np

import syncdx
from syncdx import Model, Session
from syncdx._widget import Board  # the widget's state machine, without a browser


def timed(call: Callable[[], object]) -> float:
    """Seconds one call of `call()` takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run(cases: int, answers: int) -> dict[str, float]:
    """Median ms of the cold, after-answer and repeated plan over simulated sessions."""
    network = syncdx.load_model().network
    frame = syncdx.load_model().sample(cases, seed=3)
    times: dict[str, list[float]] = {
        "cold": [],
        "after answer": [],
        "repeat": [],
        "widget update": [],
    }
    for _, case in frame.iterrows():
        session = Session(Model(network))
        board = Board(Model(network))
        board.view()
        step = session.plan()
        for _ in range(answers):
            open_questions = [o for o in network.ids("observation") if o not in session.evidence]
            asked = step.id if step.kind == "question" else open_questions[0]
            answer = case[asked] or network.variable(asked).states[0]
            session.answer(asked, answer)
            times["widget update"].append(timed(partial(_refresh, board, asked, answer)))
            times["after answer"].append(timed(session.plan))
            times["repeat"].append(timed(session.plan))
            cold = Model(network)
            times["cold"].append(timed(partial(cold.plan, session.evidence)))
            step = session.plan()
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def _refresh(board: Board, question: str, answer: str) -> None:
    """The widget's refresh after one answer."""
    board.answer(question, answer)
    board.view()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--answers", type=int, default=3)
    args = parser.parse_args(argv)
    for name, ms in run(args.cases, args.answers).items():
        print(f"{name:<14} {ms:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
