"""A troubleshooting session's history: its entries, each checked as it is made, and the
saved (JSON) form it round-trips through."""

from __future__ import annotations

import json
import reprlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._plan import check_steps
from syncdx.errors import EvidenceError, SessionError
from syncdx.network._network import Network

EntryKind = Literal["answer", "action", "skip"]
#: Version of the JSON written by `Session.to_json`.
FORMAT_VERSION = 1
FORMAT_NAME = "syncdx-session"
#: The most entries a session holds (and a saved session may hold).
MAX_HISTORY = 10_000


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a session: an answer (`value` is the state), an action tried (`value` is
    "fixed" or "not fixed") or a skipped step (`value` is empty)."""

    kind: EntryKind
    id: str
    value: str = ""


def check_open(fixed_by: str | None) -> None:
    """A SessionError once the problem is fixed."""
    if fixed_by is not None:
        raise SessionError(f"the problem is already fixed (by {fixed_by!r}); undo() to go back")


def check_room(entries: int) -> None:
    """A SessionError if a history of `entries` entries is full."""
    if entries >= MAX_HISTORY:
        raise SessionError(
            f"a session holds at most {MAX_HISTORY} entries; this one is full (start a "
            "new session, or undo())"
        )


def is_unknown(network: Network, observation: str, state: object) -> bool:
    """Whether `state` is a "don't know" word that is no state of `observation` (a known
    node; anything else is left to `answer_entry` to refuse)."""
    if not isinstance(state, str) or not isinstance(observation, str):
        return False
    if observation not in network.index:
        return False
    variable = network.variable(observation)
    lookup = ev.spellings(variable, ev.words(network))
    return state.strip() != "" and lookup.get(state.strip()) == ev.UNOBSERVED


def answer_entry(
    network: Network,
    observation: str,
    state: object,
    evidence: Mapping[str, str],
    *,
    replace: bool,
    allow_cause: bool,
) -> Entry:
    """The entry answering `observation` with `state`, checked as `Session.answer` says,
    `evidence` being the answers so far (this does not check that it is possible)."""
    variable = ev.node(network, observation)
    if variable.role == "cause" and not allow_cause:
        raise SessionError(
            f"{variable.id!r} is a cause, not a question; to pin it (confirmed or ruled out "
            'by other means) pass allow_cause=True (in a saved session: "cause": true)'
        )
    index = ev.state_index(variable, state, ev.words(network))
    if index == ev.UNOBSERVED:
        raise EvidenceError(
            f"the answer to {observation!r} is blank", node=observation, allowed=variable.states
        )
    first = evidence.get(variable.id)
    if first is not None and not replace:
        raise SessionError(
            f"{variable.id!r} is already answered {first!r}; answer(..., replace=True) to "
            "change the answer, or undo()"
        )
    return Entry("answer", variable.id, variable.states[index])


def action_entry(network: Network, action: str, fixed: object, failed: Collection[str]) -> Entry:
    """The entry for `action` tried, checked as `Session.did` says (not for possibility)."""
    if not isinstance(fixed, bool | np.bool_):
        raise TypeError(f"fixed must be True or False, got {fixed!r}")
    # an EvidenceError naming the actions if unknown
    last_resort = network.action(action).last_resort
    if action in failed and not last_resort:
        raise SessionError(
            f"{action!r} was already tried and did not fix the problem; each action is tried "
            "once (undo() to change that report)"
        )
    return Entry("action", action, "fixed" if fixed else "not fixed")


def skip_entry(network: Network, step: str) -> Entry:
    """The entry skipping `step`, checked as `Session.skip` says."""
    check_steps(network, [step])
    if any(a.last_resort and a.id == step for a in network.actions):
        raise SessionError(f"{step!r} is the last resort, always available; it cannot be skipped")
    return Entry("skip", step)


@dataclass(slots=True)
class Replay:
    """What a history read so far says: the answers, the failed actions and the fix."""

    evidence: dict[str, str] = field(default_factory=dict)
    failed: dict[str, None] = field(default_factory=dict)
    fixed_by: str | None = None

    def entry(self, network: Network, raw: object) -> Entry:
        """The entry `raw` (from JSON) stands for, checked against what came before it."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise SessionError(
                f"a history entry must be an object with an 'id', got {reprlib.repr(raw)}"
            )
        check_open(self.fixed_by)
        kind, node = raw.get("kind"), raw["id"]
        if kind == "answer" and "state" in raw:
            cause = raw.get("cause") is True
            return answer_entry(
                network, node, raw["state"], self.evidence, replace=True, allow_cause=cause
            )
        if kind == "action" and isinstance(raw.get("fixed"), bool):
            return action_entry(network, node, raw["fixed"], self.failed)
        if kind == "skip":
            return skip_entry(network, node)
        raise SessionError(
            "a history entry needs kind 'answer' (with 'state'), 'action' (with a boolean "
            f"'fixed') or 'skip', got {reprlib.repr(raw)}"
        )

    def add(self, entry: Entry) -> None:
        """Take `entry` into account."""
        if entry.kind == "answer":
            self.evidence[entry.id] = entry.value
        elif entry.kind == "action" and entry.value == "not fixed":
            self.failed[entry.id] = None
        elif entry.kind == "action":
            self.fixed_by = entry.id


def entry_json(entry: Entry, network: Network) -> dict[str, object]:
    """`entry` as a saved session writes it."""
    if entry.kind == "answer":
        cause = {"cause": True} if network.variable(entry.id).role == "cause" else {}
        return {"kind": "answer", "id": entry.id, "state": entry.value, **cause}
    if entry.kind == "action":
        return {"kind": "action", "id": entry.id, "fixed": entry.value == "fixed"}
    return {"kind": "skip", "id": entry.id}


def read_document(name: str, text: str | bytes) -> list[object]:
    """The history of a saved session, its format, version, model and length checked."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise SessionError(f"a saved session must be JSON: {exc}") from None
    except RecursionError:
        raise SessionError(
            "a saved session must be JSON as to_json writes it; this one is nested too deeply"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise SessionError(f"not a saved syncdx session (expected format {FORMAT_NAME!r})")
    version = document.get("version")
    if type(version) is not int or version != FORMAT_VERSION:  # not True, not 1.0
        raise SessionError(
            f"saved session format version {reprlib.repr(version)} is not supported "
            f"(this syncdx reads version {FORMAT_VERSION}, the integer)"
        )
    if document.get("model") != name:
        raise SessionError(
            f"the session was saved with model {reprlib.repr(document.get('model'))}, not {name!r}"
        )
    history = document.get("history")
    if not isinstance(history, list):
        raise SessionError("a saved session needs a 'history' list")
    if len(history) > MAX_HISTORY:
        raise SessionError(
            f"the saved session holds {len(history)} history entries; a session holds at "
            f"most {MAX_HISTORY}"
        )
    return history
