"""Sessions: recording answers and repairs, undo, resolution, and JSON round trips."""

from __future__ import annotations

import contextlib
import json
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import EvidenceError, ImpossibleEvidenceError, Model, Session
from syncdx.diagnosis import Diagnoser
from syncdx.diagnosis import _history as history_module
from syncdx.diagnosis._history import Entry
from syncdx.diagnosis._repairs import failure_evidence
from syncdx.errors import SessionError

#: Answers to two questions, again and again (a long history of replaced answers).
_ANSWERS = [
    {"kind": "answer", "id": "paused_banner", "state": "yes"},
    {"kind": "answer", "id": "storage_full_alert", "state": "no"},
    {"kind": "answer", "id": "paused_banner", "state": "no"},
]


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


def test_answers_and_failures_shape_the_posterior(sync: Model) -> None:
    """The posterior is the model's, given the answers and failed actions as soft evidence."""
    session = Session(sync)
    session.answer("paused_banner", "YES")
    session.did("restart_device", fixed=False)
    assert session.evidence == {"paused_banner": "yes"}
    assert session.failed == ("restart_device",)
    expected = sync.posterior(
        {"paused_banner": "yes"}, soft=failure_evidence(sync.network, ["restart_device"])
    )
    pd.testing.assert_series_equal(session.posterior, expected)
    assert session.history == (
        Entry("answer", "paused_banner", "yes"),
        Entry("action", "restart_device", "not fixed"),
    )


def test_undo_removes_the_last_entry(sync: Model) -> None:
    """undo() pops the latest entry; with nothing left it is a SessionError."""
    session = Session(sync)
    session.answer("storage_full_alert", "yes")
    assert session.undo() == Entry("answer", "storage_full_alert", "yes")
    assert session.history == ()
    with pytest.raises(SessionError, match="nothing to undo"):
        session.undo()


def test_fixed_session_refuses_further_steps_until_undo(sync: Model) -> None:
    """After a fix, steps are refused with a clear error; undo re-opens the session."""
    session = Session(sync)
    session.did("toggle_imessage", fixed=True)
    assert session.resolved
    assert session.fixed_by == "toggle_imessage"
    for step in (
        lambda: session.plan(),
        lambda: session.recommend(),
        lambda: session.answer("paused_banner", "yes"),
        lambda: session.did("restart_device", fixed=False),
    ):
        with pytest.raises(SessionError, match=r"already fixed.*toggle_imessage"):
            step()
    session.undo()
    assert session.history == ()  # and plan() below works again
    assert session.plan().kind in ("question", "action")


def test_skipped_and_answered_steps_are_not_proposed(sync: Model) -> None:
    """plan() and recommend() leave out what was answered or skipped."""
    session = Session(sync)
    first = session.plan()
    session.skip(first.id)
    assert session.plan().id != first.id
    session.answer("paused_banner", "no")
    assert not {first.id, "paused_banner"} & set(session.recommend().index)


def test_bad_steps_are_refused_and_not_recorded(sync: Model) -> None:
    """Unknown nodes, states, actions and impossible answers raise and leave no entry."""
    session = Session(sync)
    with pytest.raises(EvidenceError, match="unknown node 'banner'"):
        session.answer("banner", "yes")
    with pytest.raises(EvidenceError, match="'perhaps' is not a state of 'paused_banner'"):
        session.answer("paused_banner", "perhaps")
    with pytest.raises(EvidenceError, match="unknown action 'reboot'"):
        session.did("reboot", fixed=False)
    with pytest.raises(EvidenceError, match="blank"):
        session.answer("paused_banner", "")
    session.answer("imessage_off", "present", allow_cause=True)
    session.did("toggle_imessage", fixed=False)
    assert len(session.history) == 2
    session_with_cause = Session(Model(_no_leak_switch(sync)))
    session_with_cause.answer("imessage_switch_on", "no")
    with pytest.raises(ImpossibleEvidenceError):
        session_with_cause.answer("imessage_off", "absent", allow_cause=True)
    assert len(session_with_cause.history) == 1


@pytest.mark.parametrize("fixed", ["false", "no", 0, 1, None])
def test_fixed_must_be_a_bool(sync: Model, fixed: object) -> None:
    """did() takes True or False only: the truthy string "false" must not count as a fix."""
    session = Session(sync)
    with pytest.raises(TypeError, match=f"fixed must be True or False, got {fixed!r}"):
        session.did("toggle_imessage", cast(Any, fixed))
    assert session.history == ()


def test_numpy_bools_are_bools(sync: Model) -> None:
    """A numpy bool (as read from a table) is accepted like a Python bool."""
    session = Session(sync)
    session.did("toggle_imessage", cast(Any, np.False_))  # numpy bools are not bool to mypy
    session.did("restart_device", cast(Any, np.True_))
    assert session.failed == ("toggle_imessage",)
    assert session.fixed_by == "restart_device"


def test_an_action_fails_once(sync: Model) -> None:
    """A second "not fixed" for the same action is refused (it would count twice as evidence);
    undo() lets the report be changed."""
    session = Session(sync)
    session.did("toggle_imessage", fixed=False)
    before = session.posterior
    with pytest.raises(SessionError, match="'toggle_imessage' was already tried"):
        session.did("toggle_imessage", fixed=False)
    with pytest.raises(SessionError, match="tried once"):
        session.did("toggle_imessage", fixed=True)
    pd.testing.assert_series_equal(session.posterior, before)
    session.undo()
    session.did("toggle_imessage", fixed=True)
    assert session.fixed_by == "toggle_imessage"


def test_the_last_resort_can_be_reported_again(sync: Model) -> None:
    """After every action failed the session is finished (plan() proposes nothing more); the
    last resort may still be reported again, its repeated failure counting once."""
    session = Session(sync)
    for action in sync.network.actions:
        session.did(action.id, fixed=False)
    assert session.finished
    step = next(a for a in sync.network.actions if a.last_resort)
    before = session.posterior
    session.did(step.id, fixed=False)
    assert session.failed.count(step.id) == 1
    pd.testing.assert_series_equal(session.posterior, before)
    session.did(step.id, fixed=True)
    assert session.fixed_by == step.id


@pytest.mark.parametrize("step", ["foo", "icloud_storage_full"])
def test_skip_names_questions_and_actions(sync: Model, step: str) -> None:
    """Skipping what is neither a question nor an action (a typo, a cause) names both kinds,
    and plan(skipped=...) refuses it the same way."""
    session = Session(sync)
    message = f"unknown action or question '{step}'.*paused_banner.*toggle_imessage"
    with pytest.raises(EvidenceError, match=message):
        session.skip(step)
    with pytest.raises(EvidenceError, match=message):
        sync.plan(skipped=[step])
    assert session.history == ()


def test_the_last_resort_cannot_be_skipped(sync: Model) -> None:
    """The last resort is always available: skipping it is refused, not silently ignored."""
    session = Session(sync)
    with pytest.raises(SessionError, match="'contact_apple_support' is the last resort"):
        session.skip("contact_apple_support")
    assert session.history == ()


def _no_leak_switch(model: Model) -> syncdx.Network:
    """The sync network where the iMessage switch reads exactly the imessage_off cause."""
    import dataclasses

    network = model.network
    i = network.index["imessage_switch_on"]
    table = np.array([[1.0, 0.0], [0.0, 1.0]])
    return dataclasses.replace(network, cpts=(*network.cpts[:i], table, *network.cpts[i + 1 :]))


def test_json_round_trip(sync: Model) -> None:
    """to_json / from_json restore the history, the state and the posterior."""
    session = Session(sync)
    session.answer("paused_banner", "yes")
    session.skip("system_status")
    session.did("restart_device", fixed=False)
    session.did("free_or_upgrade_storage", fixed=True)
    loaded = Session.from_json(sync, session.to_json())
    assert loaded.history == session.history
    assert loaded.resolved
    pd.testing.assert_series_equal(loaded.posterior, session.posterior)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("{not json", SessionError, "must be JSON"),
        ('{"format": "other"}', SessionError, "not a saved syncdx session"),
        ('{"format": "syncdx-session", "version": 9}', SessionError, "version 9"),
        ('{"format": "syncdx-session", "version": true}', SessionError, "version True"),
        ('{"format": "syncdx-session", "version": 1.0}', SessionError, "version 1.0"),
        ('{"format": "syncdx-session", "version": "1"}', SessionError, "version '1'"),
        ("[" * 100_000 + "]" * 100_000, SessionError, "nested too deeply"),
        (
            '{"format": "syncdx-session", "version": 1, "model": "icloud_sync", "history": '
            + "[" * 100_000
            + "]" * 100_000
            + "}",
            SessionError,
            "nested too deeply",
        ),
        (
            '{"format": "syncdx-session", "version": 1, "model": "printer", "history": []}',
            SessionError,
            "model 'printer'",
        ),
        (
            '{"format": "syncdx-session", "version": 1, "model": "icloud_sync"}',
            SessionError,
            "history",
        ),
    ],
)
def test_bad_documents_are_rejected(
    sync: Model, text: str, error: type[Exception], message: str
) -> None:
    """A saved session with bad JSON, format, version or model is refused, naming the problem."""
    with pytest.raises(error, match=message) as info:
        Session.from_json(sync, text)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        (
            {"kind": "answer", "id": "banner", "state": "yes"},
            EvidenceError,
            "unknown node 'banner'",
        ),
        ({"kind": "answer", "id": "paused_banner", "state": "perhaps"}, EvidenceError, "'perhaps'"),
        ({"kind": "action", "id": "reboot", "fixed": False}, EvidenceError, "unknown action"),
        ({"kind": "action", "id": "restart_device", "fixed": "no"}, SessionError, "boolean"),
        ({"kind": "teleport", "id": "x"}, SessionError, "kind 'answer'"),
        ({"kind": "answer", "id": "imessage_off", "state": "present"}, SessionError, "a cause"),
        (
            {"kind": "answer", "id": "imessage_off", "state": "present", "cause": 1},
            SessionError,
            "a cause",
        ),
        ({"kind": "skip", "id": [[[[[[[[[["deep"]]]]]]]]]]}, SessionError, r"\[\.\.\.\]"),
        ("paused_banner=yes", SessionError, "must be an object"),
    ],
)
def test_bad_entries_are_rejected(
    sync: Model, entry: object, error: type[Exception], message: str
) -> None:
    """Each history entry is re-validated on load; the error names the entry's problem."""
    document = {"format": "syncdx-session", "version": 1, "model": "icloud_sync"}
    text = json.dumps({**document, "history": [entry]})
    with pytest.raises(error, match=message) as info:
        Session.from_json(sync, text)
    assert "history entry 1" in "".join(getattr(info.value, "__notes__", []))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_session_survives_a_round_trip(sync: Model, data: st.DataObject) -> None:
    """Whatever the sequence of answers, failures and skips, JSON restores the same history."""
    model = sync
    session = Session(model)
    for _ in range(data.draw(st.integers(0, 6))):
        kind = data.draw(st.sampled_from(["answer", "action", "skip"]))
        if kind == "answer":  # a question or a cause, maybe answered before
            node = data.draw(st.sampled_from(model.observations + model.causes))
            state = data.draw(st.sampled_from(model.states(node)))
            with contextlib.suppress(ImpossibleEvidenceError):
                session.answer(node, state, replace=True, allow_cause=True)
        elif kind == "action":
            untried = [a.id for a in model.network.actions if a.id not in session.failed]
            session.did(data.draw(st.sampled_from(untried)), False)
        else:
            session.skip(data.draw(st.sampled_from(model.observations)))
    assert Session.from_json(model, session.to_json()).history == session.history


def _sure_toggle(model: Model) -> Model:
    """The sync model where toggle_imessage always fixes imessage_off."""
    import dataclasses

    network = model.network
    actions = tuple(
        dataclasses.replace(a, fixes={**a.fixes, "imessage_off": 1.0})
        if a.id == "toggle_imessage"
        else a
        for a in network.actions
    )
    return Model(dataclasses.replace(network, actions=actions))


def test_a_failed_action_in_a_conflict_is_named_as_such(sync: Model) -> None:
    """When a failure contradicts the answers, the message says which action did not fix it,
    in a session and in plan(failed=...)."""
    model = _sure_toggle(sync)
    session = Session(model)
    session.answer("imessage_off", "present", allow_cause=True)
    expected = "imessage_off=present and toggle_imessage did not fix it"
    with pytest.raises(ImpossibleEvidenceError, match=expected):
        session.did("toggle_imessage", fixed=False)
    with pytest.raises(ImpossibleEvidenceError, match=expected):
        model.plan({"imessage_off": "present"}, failed=["toggle_imessage"])


def test_session_repr_counts_entries_and_names_the_top_cause(sync: Model) -> None:
    """The repr says 1 entry / 2 entries, how many answers and actions, and the top cause."""
    session = Session(sync)
    session.answer("storage_full_alert", "yes")
    top = session.posterior
    assert repr(session) == (
        "<Session 'icloud_sync': 1 entry (1 answer, 0 actions), open; "
        f"top cause {top.index[0]} {top.iloc[0]:.1%}>"
    )
    session.did("free_or_upgrade_storage", fixed=True)
    assert "2 entries (1 answer, 1 action), fixed by free_or_upgrade_storage" in repr(session)


def test_session_html_shows_history_and_top_causes(sync: Model) -> None:
    """In Jupyter a session shows its history and its most probable causes."""
    session = Session(sync)
    session.answer("storage_full_alert", "yes")
    session.did("restart_device", fixed=False)
    html = session._repr_html_()
    assert html.index("<code>storage_full_alert</code>") < html.index("<code>restart_device</code>")
    assert "not fixed" in html
    for cause in session.posterior.index[:5]:
        assert f"<code>{cause}</code>" in html


def test_an_answered_question_is_not_answered_again_silently(sync: Model) -> None:
    """A second answer to a question is a SessionError naming the first, unless replace=True;
    undo() then brings the first answer back."""
    session = Session(sync)
    session.answer("paused_banner", "yes")
    for again in ("no", "yes", "YES"):
        with pytest.raises(SessionError, match="'paused_banner' is already answered 'yes'"):
            session.answer("paused_banner", again)
    assert session.evidence == {"paused_banner": "yes"}
    session.answer("paused_banner", "no", replace=True)
    assert session.evidence == {"paused_banner": "no"}
    pd.testing.assert_series_equal(session.posterior, sync.posterior({"paused_banner": "no"}))
    loaded = Session.from_json(sync, session.to_json())
    assert loaded.evidence == {"paused_banner": "no"}
    assert loaded.history == session.history
    session.undo()
    assert session.evidence == {"paused_banner": "yes"}


@pytest.mark.parametrize("cause", ["imessage_off", "icloud_outage", "network_unreliable"])
def test_a_cause_is_pinned_only_on_purpose(sync: Model, cause: str) -> None:
    """answer() on a cause is a SessionError unless allow_cause=True; a pinned cause survives
    a JSON round trip, marked as a cause in its entry."""
    session = Session(sync)
    with pytest.raises(SessionError, match=f"{cause!r} is a cause.*allow_cause=True"):
        session.answer(cause, "present")
    assert session.history == ()
    session.answer(cause, "present", allow_cause=True)
    assert session.posterior[cause] == 1.0
    text = session.to_json()
    assert json.loads(text)["history"][0]["cause"] is True
    assert Session.from_json(sync, text).history == session.history


@pytest.mark.parametrize("size", [0, 1, 2])
def test_a_session_holds_at_most_max_history_entries(
    sync: Model, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_HISTORY entries a session refuses another step, and a saved session with more
    entries is refused on load, both as a SessionError naming the limit."""
    limit = 3 + size
    monkeypatch.setattr(history_module, "MAX_HISTORY", limit)
    session = Session(sync)
    for _ in range(limit):
        session.skip("paused_banner")
    with pytest.raises(SessionError, match=f"at most {limit} entries"):
        session.skip("paused_banner")
    document = json.loads(session.to_json())
    assert len(Session.from_json(sync, json.dumps(document)).history) == limit
    document["history"].append({"kind": "skip", "id": "paused_banner"})
    with pytest.raises(SessionError, match=f"holds {limit + 1} history entries.*at most {limit}"):
        Session.from_json(sync, json.dumps(document))


def test_the_default_history_bound_is_ten_thousand() -> None:
    """The bound is a module constant, large enough for any real troubleshooting session."""
    assert history_module.MAX_HISTORY == 10_000


@pytest.mark.parametrize("entries", [[{"kind": "skip", "id": "paused_banner"}], _ANSWERS])
def test_loading_does_constant_work_per_entry(
    sync: Model, entries: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """from_json runs the same number of inferences and history scans for 10 entries as for
    1,000 (the history is not re-validated as a whole at every step)."""
    counts = {"infer": 0, "scans": 0}
    infer, evidence = Diagnoser.infer, Session.evidence

    def counted_infer(self: Diagnoser, *args: Any) -> Any:
        counts["infer"] += 1
        return infer(self, *args)

    def counted_evidence(self: Session) -> dict[str, str]:
        counts["scans"] += 1
        return evidence.fget(self)  # type: ignore[attr-defined, no-any-return]

    monkeypatch.setattr(Diagnoser, "infer", counted_infer)
    monkeypatch.setattr(Session, "evidence", property(counted_evidence))
    seen = []
    for n in (10, 1_000):
        counts.update(infer=0, scans=0)
        history = [entries[k % len(entries)] for k in range(n)]
        document = {"format": "syncdx-session", "version": 1, "model": sync.name}
        assert (
            len(Session.from_json(sync, json.dumps({**document, "history": history})).history) == n
        )
        seen.append(dict(counts))
    assert seen[0] == seen[1]


def test_impossible_answers_in_a_saved_session_are_refused(sync: Model) -> None:
    """A saved history whose answers and failures cannot hold together is refused on load."""
    model = Model(_no_leak_switch(sync))
    history = [
        {"kind": "answer", "id": "imessage_switch_on", "state": "no"},
        {"kind": "answer", "id": "imessage_off", "state": "absent", "cause": True},
    ]
    document = {"format": "syncdx-session", "version": 1, "model": model.name, "history": history}
    with pytest.raises(ImpossibleEvidenceError) as info:
        Session.from_json(model, json.dumps(document))
    assert "while loading a saved session" in "".join(info.value.__notes__)


def test_finished_after_the_last_resort_fails_so_the_loop_ends(sync: Model) -> None:
    """`while not session.finished` ends: the last resort failing finishes the session and
    plan() then refuses to propose more (resolved stays False)."""
    session = Session(sync)
    steps = 0
    while not session.finished:
        step = session.plan()
        if step.kind == "question":
            session.skip(step)
        else:
            session.did(step.id, fixed=False)
        steps += 1
        assert steps < 100
    assert not session.resolved
    assert session.failed[-1] == "contact_apple_support"
    with pytest.raises(SessionError, match="nothing left to propose"):
        session.plan()
    session.undo()
    assert not session.finished


def test_finished_when_fixed(sync: Model) -> None:
    """A fix finishes the session as well as resolving it."""
    session = Session(sync)
    session.did("toggle_imessage", fixed=True)
    assert session.finished
    assert session.resolved


def test_skip_accepts_the_step_plan_returned(sync: Model) -> None:
    """skip(plan()) records the step's id, as the README shows."""
    session = Session(sync)
    step = session.plan()
    session.skip(step)
    assert session.skipped == (step.id,)


@pytest.mark.parametrize("word", ["don't know", "Not sure", "?", "unknown", "skip", "don’t  know"])
def test_a_dont_know_answer_skips_the_question(sync: Model, word: str) -> None:
    """A "don't know" word records no evidence: the question is skipped, not answered."""
    session = Session(sync)
    session.answer("paused_banner", word)
    assert session.evidence == {}
    assert session.skipped == ("paused_banner",)


def test_summary_lists_answers_actions_causes_and_minutes(sync: Model) -> None:
    """summary() names answers and actions by their texts with results, the likeliest causes,
    the outcome and the minutes, as text, markdown and a JSON-ready dict."""
    session = Session(sync)
    session.answer("paused_banner", "yes")
    session.did("toggle_imessage", fixed=False)
    session.did("restart_device", fixed=True)
    summary = session.summary()
    data = summary.to_dict()
    assert data["outcome"] == "fixed by restart_device"
    assert [a["id"] for a in data["answers"]] == ["paused_banner"]
    assert [(a["id"], a["result"]) for a in data["actions"]] == [
        ("toggle_imessage", "not fixed"),
        ("restart_device", "fixed"),
    ]
    costs = {a.id: a.cost for a in sync.network.actions}
    expected = sync.network.variable("paused_banner").cost or 0.0
    expected += costs["toggle_imessage"] + costs["restart_device"]
    assert data["minutes"] == pytest.approx(expected)
    assert len(data["causes"]) == 3
    json.dumps(data)
    text = str(summary)
    assert text.startswith("Outcome: fixed by restart_device")
    assert sync.network.variable("paused_banner").text in text
    assert "### Answers" in summary.to_markdown()
    assert "paused_banner: yes" in summary.to_text(ids=True)


def test_unknown_words_are_no_evidence_in_the_api_and_the_models_own(sync: Model) -> None:
    """posterior({"x": "don't know"}) (or "maybe") is the prior; with_unknown_words gives a
    model with other words and leaves the first as it was (no global setting), and a word
    that is a state of the node keeps meaning that state."""
    prior = sync.posterior({})
    for word in ("Don't know", "maybe", " NOT  sure "):
        pd.testing.assert_series_equal(sync.posterior({"paused_banner": word}), prior)
    assert sync.unknown_words == syncdx.UNKNOWN_WORDS
    assert "maybe" in syncdx.UNKNOWN_WORDS
    perhaps = sync.with_unknown_words(["Perhaps"])
    assert perhaps.unknown_words == frozenset({"perhaps"})
    pd.testing.assert_series_equal(perhaps.posterior({"paused_banner": "perhaps"}), prior)
    with pytest.raises(EvidenceError, match="'not sure' is not a state"):
        perhaps.posterior({"paused_banner": "not sure"})
    with pytest.raises(EvidenceError, match="'perhaps' is not a state"):
        sync.posterior({"paused_banner": "perhaps"})
    assert (
        sync.with_unknown_words(["yes"]).posterior({"paused_banner": "yes"}).iloc[0]
        != (prior.iloc[0])
    )
    assert sync.with_unknown_words([]).unknown_words == frozenset()
    assert sync.with_unknown_words(None).unknown_words == syncdx.UNKNOWN_WORDS


def test_unknown_words_reach_sessions_scoring_and_load_model(sync: Model) -> None:
    """A model's words hold in its Session, in score() and in load_model(unknown_words=)."""
    perhaps = syncdx.load_model(unknown_words="perhaps")
    assert perhaps.unknown_words == frozenset({"perhaps"})
    session = Session(perhaps)
    session.answer("paused_banner", "perhaps")
    assert session.evidence == {}
    with pytest.raises(EvidenceError):
        session.answer("paused_banner", "maybe")
    frame = pd.DataFrame({"paused_banner": ["perhaps", "maybe"]})
    assert perhaps.score(frame)["error"].isna().tolist() == [True, False]
    assert sync.score(frame)["error"].isna().tolist() == [False, True]
