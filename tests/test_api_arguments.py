"""Arguments of the wrong type to every public Model and Session method: a TypeError or a
ValueError (an EvidenceError for evidence) that names the argument and what it accepts, never
an AttributeError, OverflowError or a message from deep inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import syncdx
from syncdx import EvidenceError, Model, Session
from syncdx.errors import SessionError

SYNC = syncdx.load_model()
FRAME = pd.DataFrame({"paused_banner": ["yes"]})

#: A value of each kind that is not what some argument accepts.
WRONG = [None, 5, 2.5, True, [1], ("a", 1), {"a": 1}, {1, 2}, object(), b"paused_banner"]

#: (what is called, the error, a pattern its message must contain).
CALLS: list[tuple[str, Callable[[Model], object], type[Exception], str]] = [
    (
        "soft huge int",
        lambda m: m.posterior(soft={"imessage_off": {"present": 10**400, "absent": 1}}),
        EvidenceError,
        "finite real weight.*401 digits",
    ),
    (
        "soft list",
        lambda m: m.posterior(soft=cast(Any, [("imessage_off", 1)])),
        TypeError,
        "soft must be a mapping",
    ),
    (
        "soft str",
        lambda m: m.posterior(soft=cast(Any, "imessage_off")),
        TypeError,
        "soft must be a mapping",
    ),
    (
        "soft log P str",
        lambda m: m.log_probability_of_evidence(soft=cast(Any, "x")),
        TypeError,
        "soft must be a mapping",
    ),
    (
        "soft marginals",
        lambda m: m.marginals(soft=cast(Any, 5)),
        TypeError,
        "soft must be a mapping",
    ),
    (
        "soft recommend",
        lambda m: m.recommend(soft=cast(Any, ["x"])),
        TypeError,
        "soft must be a mapping",
    ),
    ("soft plan", lambda m: m.plan(soft=cast(Any, "x")), TypeError, "soft must be a mapping"),
    (
        "posteriors dict",
        lambda m: m.posteriors(cast(Any, {"paused_banner": ["yes"]})),
        TypeError,
        "frame must be a pandas DataFrame.*dict",
    ),
    (
        "posteriors None",
        lambda m: m.posteriors(cast(Any, None)),
        TypeError,
        "frame must be a pandas DataFrame.*NoneType",
    ),
    (
        "posteriors Series",
        lambda m: m.posteriors(cast(Any, FRAME.iloc[0])),
        TypeError,
        "frame must be a pandas DataFrame.*Series",
    ),
    (
        "score dict",
        lambda m: m.score(cast(Any, {"paused_banner": ["yes"]})),
        TypeError,
        "frame must be a pandas DataFrame",
    ),
    (
        "score next_question",
        lambda m: m.score(FRAME, next_question=cast(Any, "yes")),
        TypeError,
        "next_question must be True or False",
    ),
    (
        "score top",
        lambda m: m.score(FRAME, top=cast(Any, "3")),
        TypeError,
        "top must be a non-negative integer",
    ),
    (
        "marginals int",
        lambda m: m.marginals(variables=cast(Any, 5)),
        TypeError,
        "variables must be a name",
    ),
    (
        "marginals nested",
        lambda m: m.marginals(variables=cast(Any, [["paused_banner"]])),
        TypeError,
        "variables must be a name.*is not a string",
    ),
    (
        "marginals dict",
        lambda m: m.marginals(variables={"paused_banner": 1}),
        TypeError,
        "variables must be a name",
    ),
    (
        "plan failed None",
        lambda m: m.plan(failed=cast(Any, None)),
        TypeError,
        "failed must be a name",
    ),
    ("plan failed int", lambda m: m.plan(failed=cast(Any, 3)), TypeError, "failed must be a name"),
    (
        "plan skipped None",
        lambda m: m.plan(skipped=cast(Any, None)),
        TypeError,
        "skipped must be a name",
    ),
    (
        "plan failed names",
        lambda m: m.plan(failed=cast(Any, [1])),
        TypeError,
        "failed must be a name.*is not a string",
    ),
    (
        "recommend candidates",
        lambda m: m.recommend(candidates=cast(Any, 5)),
        TypeError,
        "candidates must be a name",
    ),
    (
        "recommend k",
        lambda m: m.recommend(k=cast(Any, "2")),
        TypeError,
        "k must be a non-negative integer",
    ),
    ("recommend by", lambda m: m.recommend(by=cast(Any, 5)), ValueError, "by must be one of"),
    (
        "recommend criterion",
        lambda m: m.recommend(criterion=cast(Any, None)),
        ValueError,
        "criterion must be one of",
    ),
    (
        "states int",
        lambda m: m.states(cast(Any, 5)),
        EvidenceError,
        "unknown node 5 .*node names are strings",
    ),
    (
        "states list",
        lambda m: m.states(cast(Any, ["paused_banner"])),
        EvidenceError,
        "node names are strings",
    ),
    (
        "posterior list",
        lambda m: m.posterior(cast(Any, ["paused_banner"])),
        TypeError,
        "evidence must be a mapping",
    ),
    (
        "posterior key",
        lambda m: m.posterior(cast(Any, {5: "yes"})),
        EvidenceError,
        "unknown node 5 .*node names are strings",
    ),
    ("model network", lambda m: Model(cast(Any, None)), TypeError, "Model needs a syncdx Network"),
    (
        "model path",
        lambda m: Model(cast(Any, "model.yaml")),
        TypeError,
        "syncdx.load_model reads one",
    ),
    (
        "session model",
        lambda m: Session(cast(Any, None)),
        TypeError,
        "a Session needs a syncdx Model",
    ),
    (
        "from_json model",
        lambda m: Session.from_json(cast(Any, m.network), "{}"),
        TypeError,
        "a Session needs a syncdx Model",
    ),
    (
        "from_json text",
        lambda m: Session.from_json(m, cast(Any, None)),
        SessionError,
        "must be JSON",
    ),
    (
        "answer node",
        lambda m: Session(m).answer(cast(Any, ["paused_banner"]), "yes"),
        EvidenceError,
        "node names are strings",
    ),
    (
        "did fixed",
        lambda m: Session(m).did("restart_device", cast(Any, "no")),
        TypeError,
        "fixed must be True or False",
    ),
    ("did action", lambda m: Session(m).did(cast(Any, 5), True), EvidenceError, "unknown action 5"),
    (
        "skip step",
        lambda m: Session(m).skip(cast(Any, None)),
        EvidenceError,
        "unknown action or question None",
    ),
    (
        "session recommend",
        lambda m: Session(m).recommend(k=-1),
        ValueError,
        "k must be a non-negative integer",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS]
)
def test_wrong_arguments_are_named(
    call: Callable[[Model], object], error: type[Exception], message: str
) -> None:
    """Each wrongly typed argument is a TypeError/ValueError naming it and what it accepts."""
    with pytest.raises(error, match=message):
        call(SYNC)


@given(st.sampled_from(WRONG[1:]))
def test_any_wrong_soft_is_a_clear_error(soft: object) -> None:
    """soft= of any kind other than a mapping {node: {state: weight}} is a TypeError saying so;
    a mapping of something else an EvidenceError naming the node."""
    expected = EvidenceError if isinstance(soft, dict) else TypeError
    message = "unknown node" if isinstance(soft, dict) else "soft must be a mapping"
    with pytest.raises(expected, match=message):
        SYNC.posterior(soft=cast(Any, soft))


@given(st.sampled_from(WRONG), st.sampled_from(["variables", "failed", "skipped", "candidates"]))
def test_any_wrong_names_argument_is_named(value: object, argument: str) -> None:
    """A names argument (variables, failed, skipped, candidates) given anything but a name or
    names is a TypeError naming the argument, or an EvidenceError naming the unknown name."""
    assume(value is not None or argument in ("failed", "skipped"))  # None: every node
    wrong = cast(Any, value)
    calls: dict[str, Callable[[], object]] = {
        "variables": lambda: SYNC.marginals(variables=wrong),
        "failed": lambda: SYNC.plan(failed=wrong),
        "skipped": lambda: SYNC.plan(skipped=wrong),
        "candidates": lambda: SYNC.recommend(candidates=wrong),
    }
    with pytest.raises((TypeError, EvidenceError)) as info:
        calls[argument]()
    if info.type is TypeError:
        assert str(info.value).startswith(f"{argument} must be a name")


@given(st.integers(min_value=2**1024))
def test_soft_weights_too_large_for_a_float_are_evidence_errors(weight: int) -> None:
    """An integer weight beyond the float range is refused as not finite, not an OverflowError."""
    with pytest.raises(EvidenceError, match="finite real weight"):
        SYNC.posterior(soft={"imessage_off": {"present": weight, "absent": 1}})
