"""Tests of the YAML model reader: compiled tables, ordering, and the errors it reports."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncdx.errors import ModelError
from syncdx.network._authoring import parse_model, read_yaml_model
from syncdx.network._network import Network
from tests.strategies import unit_floats

TINY = """\
syncdx_model: 1
name: tiny
title: A tiny model
documents:
  "000": {file: a.txt, title: Doc A}
causes:
  - id: full
    text: storage is full
    prior: 0.1
    source: "000 §1"
  - id: outage
    text: service outage
    prior: 0.05
    assumption: rare
observations:
  - id: alert
    question: Is there an alert?
    cost: 1
    source: ["000 §2", "000 tip 3"]
    noisy_or:
      state: yes
      leak: {p: 0.02, assumption: rare}
      links:
        full: {p: 0.9, source: "000 §2"}
        stalled: {p: 0.5, when: yes, assumption: sometimes}
  - id: status
    question: What does the status page say?
    cost: 2
    states: [green, amber, red]
    assumption: status page
    noisy_max:
      leak: {p: {amber: 0.1}, assumption: noise}
      links:
        outage: {p: {amber: 0.3, red: 0.6}, assumption: outages show}
        full: {p: {amber: 0.2}, assumption: odd}
  - id: banner
    question: Is there a banner?
    cost: 0.5
    assumption: banner
    parents: [outage]
    cpt:
      - when: {outage: absent}
        p: {yes: 0.1, no: 0.9}
        assumption: x
      - when: {outage: present}
        p: {yes: 0.8, no: 0.2}
        source: "000 §4"
hidden:
  - id: stalled
    text: sync session stalled
    assumption: intermediate
    noisy_or:
      leak: {p: 0.1, assumption: baseline}
      links:
        outage: {p: 0.7, assumption: outages stall}
actions:
  - id: restart
    text: Restart
    cost: 3
    fixes:
      full: {p: 0.1, assumption: rarely}
    source: "000 §3"
  - id: support
    text: Contact support
    cost: 60
    last_resort: true
    fixes_rest: {p: 0.9, assumption: mostly}
    fixes:
      outage: {p: 0.5, assumption: wait}
    assumption: the last step
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Network:
    return read_yaml_model(_write(tmp_path, TINY))


def _cpt(network: Network, node: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    return network.cpts[network.index[node]]


def test_variables_are_parents_first_in_file_order(tiny: Network) -> None:
    """Causes come first as listed; a node moves after its parents only when it must."""
    assert tiny.ids() == ("full", "outage", "status", "banner", "stalled", "alert")
    assert tiny.parent_ids("alert") == ("full", "stalled")
    assert tiny.parent_ids("status") == ("outage", "full")


def test_roles_texts_costs_and_provenance(tiny: Network, tmp_path: Path) -> None:
    """Roles, question text, cost, sources, assumption and the model's metadata are kept."""
    alert, stalled = tiny.variable("alert"), tiny.variable("stalled")
    assert (alert.role, alert.text, alert.cost) == ("observation", "Is there an alert?", 1.0)
    assert alert.source == ("000 §2", "000 tip 3")
    assert (stalled.role, stalled.text, stalled.cost) == ("hidden", "sync session stalled", None)
    assert stalled.assumption == "intermediate"
    assert tiny.variable("full").role == "cause"
    assert (tiny.name, tiny.title, dict(tiny.documents)) == (
        "tiny",
        "A tiny model",
        {"000": "Doc A"},
    )
    assert tiny.file == str(tmp_path / "model.yaml")


def test_bare_yes_no_stay_strings(tiny: Network) -> None:
    """YAML 1.1 `yes`/`no` are read as the state names, not as booleans."""
    assert tiny.variable("alert").states == ("yes", "no")
    assert tiny.variable("banner").states == ("yes", "no")


def test_yaml_scalars(tmp_path: Path) -> None:
    """`on`/`off` are state names and `1e-3` is a number (YAML 1.1 would say bool and string)."""
    text = TINY.replace("prior: 0.1\n", "prior: 1e-3\n").replace(
        "[green, amber, red]", "[off, on, red]"
    )
    text = text.replace("{amber: 0.1}", "{on: 0.1}").replace("{amber: 0.3,", "{on: 0.3,")
    network = read_yaml_model(_write(tmp_path, text.replace("{amber: 0.2}", "{on: 0.2}")))
    assert network.variable("status").states == ("off", "on", "red")
    np.testing.assert_allclose(_cpt(network, "full"), [0.999, 0.001], rtol=0, atol=1e-12)


def test_cause_priors(tiny: Network) -> None:
    """A cause's table is [1 - prior, prior]."""
    np.testing.assert_allclose(_cpt(tiny, "full"), [0.9, 0.1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(_cpt(tiny, "outage"), [0.95, 0.05], rtol=0, atol=1e-12)


def test_noisy_or_tables(tiny: Network) -> None:
    """Noisy-OR: 1 - (1 - leak) * prod(1 - p) over active links; `when` picks the active state."""
    np.testing.assert_allclose(_cpt(tiny, "stalled"), [[0.1, 0.9], [0.73, 0.27]], atol=1e-12)
    expected = [  # axes: full (absent, present), stalled (yes, no), alert (yes, no)
        [[1 - 0.98 * 0.5, 0.98 * 0.5], [0.02, 0.98]],
        [[1 - 0.98 * 0.1 * 0.5, 0.98 * 0.1 * 0.5], [1 - 0.98 * 0.1, 0.98 * 0.1]],
    ]
    np.testing.assert_allclose(_cpt(tiny, "alert"), expected, rtol=0, atol=1e-12)


def test_noisy_max_table(tiny: Network) -> None:
    """Noisy-MAX: P(Y <= s) is the product of the active contributions' cumulative distributions."""
    expected = [  # axes: outage, full, status (green, amber, red)
        [[0.9, 0.1, 0.0], [0.72, 0.28, 0.0]],
        [[0.09, 0.31, 0.6], [0.072, 0.328, 0.6]],
    ]
    np.testing.assert_allclose(_cpt(tiny, "status"), expected, rtol=0, atol=1e-12)
    assert _cpt(tiny, "status").dtype == np.float64


def test_cpt_table(tiny: Network) -> None:
    """A full cpt is read row by row into the parents' axes."""
    np.testing.assert_allclose(_cpt(tiny, "banner"), [[0.1, 0.9], [0.8, 0.2]], atol=1e-12)


def test_actions(tiny: Network) -> None:
    """Actions keep cost, fixes (read-only), last resort and fixes_rest."""
    restart, support = tiny.actions
    assert (restart.id, restart.cost, dict(restart.fixes)) == ("restart", 3.0, {"full": 0.1})
    assert restart.source == ("000 §3",)
    assert not restart.last_resort
    assert (support.last_resort, support.fixes_rest) == (True, 0.9)
    assert dict(support.fixes) == {"outage": 0.5}
    with pytest.raises(TypeError):
        restart.fixes["full"] = 1.0  # type: ignore[index]


# -- invalid documents --------------------------------------------------------------------


def _base() -> dict[str, Any]:
    """A small valid model as a dict (cause, noisy-OR observation, hidden node, cpt, actions)."""
    return {
        "syncdx_model": 1,
        "name": "base",
        "documents": {"000": {"title": "Doc"}},
        "causes": [
            {"id": "full", "prior": 0.1, "source": "000 §1"},
            {"id": "outage", "prior": 0.05, "assumption": "rare"},
        ],
        "observations": [
            {
                "id": "alert",
                "question": "Alert?",
                "cost": 1,
                "assumption": "a",
                "noisy_or": {
                    "leak": {"p": 0.02, "assumption": "l"},
                    "links": {
                        "full": {"p": 0.9, "source": "000 §2"},
                        "stalled": {"p": 0.5, "when": "yes", "assumption": "s"},
                    },
                },
            },
            {
                "id": "banner",
                "question": "Banner?",
                "cost": 1,
                "assumption": "b",
                "parents": ["outage"],
                "cpt": [
                    {"when": {"outage": "absent"}, "p": {"yes": 0.1, "no": 0.9}, "assumption": "x"},
                    {
                        "when": {"outage": "present"},
                        "p": {"yes": 0.8, "no": 0.2},
                        "assumption": "y",
                    },
                ],
            },
        ],
        "hidden": [
            {
                "id": "stalled",
                "assumption": "h",
                "noisy_or": {
                    "leak": {"p": 0.1, "assumption": "l"},
                    "links": {"outage": {"p": 0.7, "assumption": "o"}},
                },
            }
        ],
        "actions": [
            {
                "id": "restart",
                "text": "Restart",
                "cost": 3,
                "source": "000 §3",
                "fixes": {"full": {"p": 0.1, "assumption": "f"}},
            },
            {
                "id": "support",
                "text": "Support",
                "cost": 60,
                "assumption": "last",
                "last_resort": True,
                "fixes_rest": {"p": 0.9, "assumption": "r"},
            },
        ],
    }


_DELETE = object()
ALERT = ("observations", 0)
BANNER = ("observations", 1)
STALLED = ("hidden", 0)


def _set(*changes: tuple[tuple[Any, ...], Any]) -> Callable[[dict[str, Any]], None]:
    """A change to the base document: each (path, value) sets or (with _DELETE) removes a key."""

    def change(doc: dict[str, Any]) -> None:
        for path, value in changes:
            target: Any = doc
            for key in path[:-1]:
                target = target[key]
            if value is _DELETE:
                del target[path[-1]]
            else:
                target[path[-1]] = value

    return change


INVALID = [
    ("top-level typo", _set((("observatons",), [])), r"field 'observatons'.*unknown key"),
    ("no version", _set((("syncdx_model",), _DELETE)), r"field 'syncdx_model'.*missing"),
    ("version 2", _set((("syncdx_model",), 2)), r"field 'syncdx_model'.*unsupported.* 2"),
    (
        "entry typo",
        _set((("causes", 0, "priorr"), 0.1)),
        r"node 'full', field 'priorr'.*unknown key",
    ),
    (
        "link typo",
        _set(((*ALERT, "noisy_or", "links", "full", "pp"), 0.1)),
        r"node 'alert', field 'noisy_or\.links\.full\.pp'.*unknown key",
    ),
    (
        "duplicate id",
        _set(((*BANNER, "id"), "full")),
        r"node 'full', field 'id'.*duplicate",
    ),
    (
        "action id reused",
        _set((("actions", 0, "id"), "alert")),
        r"node 'alert', field 'id'.*duplicate",
    ),
    (
        "unknown parent",
        _set(((*ALERT, "noisy_or", "links", "ghost"), {"p": 0.5, "assumption": "g"})),
        r"node 'alert', field 'noisy_or\.links\.ghost'.*unknown parent 'ghost'",
    ),
    (
        "unknown cpt parent",
        _set(((*BANNER, "parents"), ["outage", "ghost"])),
        r"node 'banner', field 'parents'.*unknown parent 'ghost'",
    ),
    (
        "cycle",
        _set(
            ((*STALLED, "noisy_or", "links", "alert"), {"p": 0.5, "when": "yes", "assumption": "c"})
        ),
        r"field 'parents'.*cycle.*(alert -> stalled -> alert|stalled -> alert -> stalled)",
    ),
    ("prior above 1", _set((("causes", 0, "prior"), 1.5)), r"node 'full', field 'prior'.*outside"),
    (
        "negative link p",
        _set(((*ALERT, "noisy_or", "links", "full", "p"), -0.1)),
        r"node 'alert', field 'noisy_or\.links\.full\.p'.*outside",
    ),
    (
        "non-numeric leak",
        _set(((*ALERT, "noisy_or", "leak", "p"), "high")),
        r"node 'alert', field 'noisy_or\.leak\.p'.*number.*'high'",
    ),
    (
        "row sum",
        _set(((*BANNER, "cpt", 0, "p", "yes"), 0.2)),
        r"node 'banner', field 'cpt\[\{outage: absent\}\]\.p'.*sum to 1\.1",
    ),
    (
        "missing row",
        _set(((*BANNER, "cpt", 1), _DELETE)),
        r"node 'banner', field 'cpt'.*no row for \{outage: present\}",
    ),
    (
        "repeated row",
        _set(((*BANNER, "cpt", 1, "when", "outage"), "absent")),
        r"node 'banner', field 'cpt\[\{outage: absent\}\]'.*repeated row",
    ),
    (
        "row misses a parent",
        _set(((*BANNER, "cpt", 0, "when"), {})),
        r"node 'banner', field 'cpt\[0\]\.when'.*'outage'",
    ),
    (
        "unknown state in state",
        _set(((*ALERT, "noisy_or", "state"), "maybe")),
        r"node 'alert', field 'noisy_or\.state'.*unknown state 'maybe'",
    ),
    (
        "unknown state in when",
        _set(((*ALERT, "noisy_or", "links", "stalled", "when"), "sometimes")),
        r"node 'alert', field 'noisy_or\.links\.stalled\.when'.*unknown state 'sometimes'",
    ),
    (
        "unknown state in row when",
        _set(((*BANNER, "cpt", 0, "when", "outage"), "gone")),
        r"node 'banner', field 'cpt\[0\]\.when\.outage'.*unknown state 'gone'",
    ),
    (
        "unknown state in p",
        _set(((*BANNER, "cpt", 0, "p"), {"yes": 0.1, "maybe": 0.9})),
        r"node 'banner', field 'cpt\[\{outage: absent\}\]\.p'.*unknown state 'maybe'",
    ),
    (
        "hidden parent without when",
        _set(((*ALERT, "noisy_or", "links", "stalled", "when"), _DELETE)),
        r"node 'alert', field 'noisy_or\.links\.stalled\.when'.*missing",
    ),
    (
        "cause without provenance",
        _set((("causes", 1, "assumption"), _DELETE)),
        r"node 'outage', field 'source'.*provenance",
    ),
    (
        "empty assumption",
        _set((("causes", 1, "assumption"), "  ")),
        r"node 'outage', field 'source'.*provenance",
    ),
    (
        "observation without provenance",
        _set(((*ALERT, "assumption"), _DELETE)),
        r"node 'alert', field 'source'.*provenance",
    ),
    (
        "hidden without provenance",
        _set(((*STALLED, "assumption"), _DELETE)),
        r"node 'stalled', field 'source'.*provenance",
    ),
    (
        "link without provenance",
        _set(((*ALERT, "noisy_or", "links", "full", "source"), _DELETE)),
        r"node 'alert', field 'noisy_or\.links\.full'.*provenance",
    ),
    (
        "leak without provenance",
        _set(((*ALERT, "noisy_or", "leak", "assumption"), _DELETE)),
        r"node 'alert', field 'noisy_or\.leak'.*provenance",
    ),
    (
        "row without provenance",
        _set(((*BANNER, "cpt", 1, "assumption"), _DELETE)),
        r"node 'banner', field 'cpt\[\{outage: present\}\]'.*provenance",
    ),
    (
        "action without provenance",
        _set((("actions", 0, "source"), _DELETE)),
        r"node 'restart', field 'source'.*provenance",
    ),
    (
        "fix without provenance",
        _set((("actions", 0, "fixes", "full", "assumption"), _DELETE)),
        r"node 'restart', field 'fixes\.full'.*provenance",
    ),
    (
        "fixes_rest without provenance",
        _set((("actions", 1, "fixes_rest", "assumption"), _DELETE)),
        r"node 'support', field 'fixes_rest'.*provenance",
    ),
    (
        "unknown document",
        _set((("causes", 0, "source"), ["000 §1", "999 §2"])),
        r"node 'full', field 'source'.*unknown document '999'",
    ),
    ("no cost", _set(((*ALERT, "cost"), _DELETE)), r"node 'alert', field 'cost'.*missing"),
    ("negative cost", _set(((*ALERT, "cost"), -1)), r"node 'alert', field 'cost'.*above 0"),
    ("zero cost", _set(((*ALERT, "cost"), 0)), r"node 'alert', field 'cost'.*above 0"),
    (
        "zero action cost",
        _set((("actions", 0, "cost"), 0.0)),
        r"node 'restart', field 'cost'.*above 0",
    ),
    ("no causes", _set((("causes",), [])), r"field 'causes'.*no causes"),
    ("no observations", _set((("observations",), []), (("hidden",), [])), r"no observations"),
    ("no question", _set(((*ALERT, "question"), _DELETE)), r"node 'alert', field 'question'"),
    ("no prior", _set((("causes", 0, "prior"), _DELETE)), r"node 'full', field 'prior'.*missing"),
    (
        "two table kinds",
        _set(((*BANNER, "noisy_or"), {"leak": {"p": 0.1, "assumption": "l"}, "links": {}})),
        r"node 'banner', field 'table'.*noisy_or and cpt",
    ),
    ("no table", _set(((*STALLED, "noisy_or"), _DELETE)), r"node 'stalled', field 'table'.*none"),
    (
        "noisy_or with three states",
        _set(
            ((*STALLED, "states"), ["a", "b", "c"]),
            ((*ALERT, "noisy_or", "links", "stalled", "when"), "a"),
        ),
        r"node 'stalled', field 'noisy_or'.*two states",
    ),
    (
        "fixes an observation",
        _set((("actions", 0, "fixes", "alert"), {"p": 0.5, "assumption": "a"})),
        r"node 'restart', field 'fixes\.alert'.*not a cause",
    ),
    (
        "two last resorts",
        _set((("actions", 0, "last_resort"), True)),
        r"node 'support', field 'last_resort'.*only one",
    ),
    (
        "fixes_rest without last_resort",
        _set(
            (("actions", 1, "last_resort"), _DELETE),
            (("actions", 1, "fixes"), {"outage": {"p": 0.5, "assumption": "o"}}),
        ),
        r"node 'support', field 'fixes_rest'.*last_resort",
    ),
]


def test_base_document_is_valid() -> None:
    """The base of the invalid-document table is itself a valid model."""
    network = parse_model(_base(), file="base.yaml")
    assert network.ids() == ("full", "outage", "banner", "stalled", "alert")


@pytest.mark.parametrize(
    ("change", "match"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_documents(change: Callable[[dict[str, Any]], None], match: str) -> None:
    """Each mistake is a ModelError naming the file, the node and the field."""
    doc = copy.deepcopy(_base())
    change(doc)
    with pytest.raises(ModelError, match=r"^bad\.yaml, .*" + match):
        parse_model(doc, file="bad.yaml")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    """A YAML syntax error is a ModelError with the file and the line."""
    path = _write(tmp_path, "syncdx_model: 1\ncauses: [\n  - id: x\n")
    with pytest.raises(ModelError, match=r"model\.yaml: line \d+, column \d+: invalid YAML"):
        read_yaml_model(path)


def test_repeated_yaml_key_is_an_error(tmp_path: Path) -> None:
    """A key written twice in one mapping is reported rather than silently overwritten."""
    text = TINY.replace("    prior: 0.1\n", "    prior: 0.1\n    prior: 0.2\n")
    with pytest.raises(ModelError, match=r"line 10, column 5: .*repeated key 'prior'"):
        read_yaml_model(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ModelError naming it."""
    with pytest.raises(ModelError, match=r"nope\.yaml.*no such model file"):
        read_yaml_model(tmp_path / "nope.yaml")


def test_non_mapping_document(tmp_path: Path) -> None:
    """A YAML file that is not a mapping is rejected."""
    with pytest.raises(ModelError, match=r"must be a mapping"):
        read_yaml_model(_write(tmp_path, "- just\n- a list\n"))


def test_shipped_model_loads() -> None:
    """The shipped models/icloud_sync.yaml reads without error."""
    path = Path(__file__).parent.parent / "models" / "icloud_sync.yaml"
    if not path.exists():
        pytest.skip("models/icloud_sync.yaml is not written yet")
    network = read_yaml_model(path)
    assert network.ids("cause")
    assert network.actions


# -- property -----------------------------------------------------------------------------


@given(
    leak=unit_floats,
    links=st.lists(
        st.tuples(unit_floats, st.sampled_from(["absent", "present"])), min_size=1, max_size=4
    ),
)
def test_noisy_or_is_monotone(leak: float, links: list[tuple[float, str]]) -> None:
    """Noisy-OR rows sum to 1, and making one more parent active never lowers P(state)."""
    causes = [{"id": f"c{i}", "prior": 0.5, "assumption": "a"} for i in range(len(links))]
    noisy_or = {
        "leak": {"p": leak, "assumption": "l"},
        "links": {
            f"c{i}": {"p": p, "when": when, "assumption": "l"} for i, (p, when) in enumerate(links)
        },
    }
    observation = {"id": "o", "question": "?", "cost": 1, "assumption": "o", "noisy_or": noisy_or}
    doc = {"syncdx_model": 1, "causes": causes, "observations": [observation]}
    table = _cpt(parse_model(doc), "o")
    np.testing.assert_allclose(table.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    p_yes = table[..., 0]
    for axis, (_, when) in enumerate(links):
        active = 1 if when == "present" else 0
        on, off = np.take(p_yes, active, axis=axis), np.take(p_yes, 1 - active, axis=axis)
        assert np.all(on >= off - 1e-12)
