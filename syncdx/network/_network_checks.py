"""Checks of BIF and XMLBIF text before pgmpy reads it, worded as the YAML loader words them.

pgmpy's readers let some mistakes through (a variable declared twice, a table with the wrong
number of entries) and report others in their own terms ("cannot convert float NaN to
integer", KeyError('Z')). These checks find them first and name the file, the node and the
field. The BIF scan follows pgmpy's own block structure (blocks end at a line starting "}").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

from syncdx.errors import ModelError, shown
from syncdx.network._network import topological_order

_COMMENT = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|(/\*.*?\*/|//[^\n]*)', re.DOTALL)
_BLOCK = re.compile(r"(variable|probability).*?\}\n", re.DOTALL)
_SPACED = re.compile(r"^\s*variable\s+([^{]*?)\s*\{", re.MULTILINE)
_NAME = re.compile(r"variable\s+([^\s{]+)")
_STATES = re.compile(r"type\s+\w+\s*\[\s*(\d+)\s*\]\s*\{([^}]*)\}")
_HEADER = re.compile(r"probability\s*\(\s*(.+?)(?:\s*\|\s*(.+?))?\s*\)")
_TABLE = re.compile(r"(?:^|[{\s])(table|default)\s+([^;]*);")
_ROW = re.compile(r"\(([^)]*)\)\s*([^;]*);")


@dataclass(frozen=True)
class _Where:
    """The file being checked, for errors."""

    file: str

    def error(self, message: str, node: str | None = None, field: str | None = None) -> ModelError:
        return ModelError(message, file=self.file, node=node, field=field)


def check_bif(text: str, file: str) -> None:
    """Raise a `ModelError` for the first mistake found in BIF `text`."""
    at = _Where(file)
    if not text.strip():
        raise at.error("the file is empty")
    text = _COMMENT.sub(lambda m: m.group(1) or "", text).replace('"', " ")
    for spaced in _SPACED.finditer(text):
        if len(spaced.group(1).split()) > 1:
            message = (
                f"BIF node names cannot contain spaces (e.g. {shown(spaced.group(1))}): use XMLBIF"
            )
            raise at.error(message, spaced.group(1), "variable")
    states: dict[str, tuple[str, ...]] = {}
    tables: list[tuple[str, list[str], str]] = []
    for block in _BLOCK.finditer(text):
        body = block.group(0)
        if block.group(1) == "variable":
            name, declared = _bif_variable(at, body)
            if name in states:
                raise at.error("declared twice", name, "variable")
            states[name] = declared
        elif header := _HEADER.search(body.split("\n")[0]):
            node, given = header.group(1).strip(), header.group(2)
            parents = [p.strip() for p in given.split(",")] if given else node.split()[1:]
            tables.append((node if given else node.split()[0], parents, body))
    seen: set[str] = set()
    for node, parents, body in tables:
        _check_family(at, node, parents, states, seen)
        _bif_table(at, node, [states[p] for p in parents], parents, states[node], body)
    topological_order({node: parents for node, parents, _ in tables}, file=file)


def _bif_variable(at: _Where, body: str) -> tuple[str, tuple[str, ...]]:
    """A variable block's name and states, checked."""
    match = _NAME.match(body)
    name = match.group(1) if match else body.split("{")[0]
    found = _STATES.search(body)
    if not found:
        raise at.error("no state list (type discrete [ n ] { a, b, ... };)", name, "states")
    raw = found.group(2)
    listed = [s.strip() for s in raw.split(",") if s.strip()] if "," in raw else raw.split()
    if int(found.group(1)) != len(listed):
        message = f"declares {found.group(1)} states but lists {len(listed)}: {shown(listed)}"
        raise at.error(message, name, "states")
    return name, _states(at, name, listed)


def _states(at: _Where, node: str, listed: Sequence[str]) -> tuple[str, ...]:
    """The states, each named once, at least two."""
    repeated = sorted({s for s in listed if listed.count(s) > 1})
    if repeated:
        raise at.error(
            f"repeated state {shown(repeated[0])} in {shown(list(listed))}", node, "states"
        )
    return tuple(listed)


def _check_family(
    at: _Where, node: str, parents: Sequence[str], states: Mapping[str, object], seen: set[str]
) -> None:
    """A table's node and parents are declared; one table per node."""
    if node not in states:
        raise at.error("a probability table for a variable that is not declared", node, "cpt")
    if node in seen:
        raise at.error("two probability tables for one variable", node, "cpt")
    seen.add(node)
    for parent in parents:
        if parent not in states:
            raise at.error(
                f"unknown parent {shown(parent)} (not a declared variable)", node, "parents"
            )
    if len(set(parents)) != len(parents):
        raise at.error(f"a parent is named twice in {shown(list(parents))}", node, "parents")


def _bif_table(
    at: _Where,
    node: str,
    parent_states: Sequence[tuple[str, ...]],
    parents: Sequence[str],
    states: tuple[str, ...],
    body: str,
) -> None:
    """A probability block's numbers: a `table` of the right length, or one row per
    configuration of the parents, each naming parent states, with one number per state."""
    table = _TABLE.search(body)
    if table and table.group(1) == "table":
        configs = math.prod(len(s) for s in parent_states)
        _numbers(at, node, table.group(2), len(states) * configs, "cpt")
        return
    rows: set[tuple[str, ...]] = set()
    for row in _ROW.finditer(body[body.index(")") + 1 :]):
        config = (
            tuple(s.strip() for s in row.group(1).split(","))
            if "," in row.group(1)
            else tuple(row.group(1).split())
        )
        where = f"cpt({', '.join(config)})"
        if len(config) != len(parents) or any(s not in ps for s, ps in zip(config, parent_states)):
            message = f"names no configuration of the parents {shown(list(parents))}"
            raise at.error(message, node, where)
        if config in rows:
            raise at.error("repeated row: each configuration of the parents once", node, where)
        rows.add(config)
        _numbers(at, node, row.group(2), len(states), where)
    if not table and len(rows) != math.prod(len(s) for s in parent_states):
        missing = math.prod(len(s) for s in parent_states) - len(rows)
        raise at.error(f"{missing} configuration(s) of the parents have no row", node, "cpt")


def _numbers(at: _Where, node: str, raw: str, expected: int, where: str) -> list[float]:
    """The probabilities in `raw`: `expected` finite numbers, none negative."""
    tokens = raw.replace(",", " ").split()
    if len(tokens) != expected:
        raise at.error(f"{len(tokens)} numbers where {expected} are expected", node, where)
    values = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            raise at.error(f"{shown(token)} is not a number", node, where) from None
        if not 0.0 <= value < math.inf:
            raise at.error(f"{shown(token)} is not a probability (finite, >= 0)", node, where)
        values.append(value)
    return values


# -- XMLBIF ---------------------------------------------------------------------------------


def check_xmlbif(text: str, file: str) -> None:
    """Raise a `ModelError` for the first mistake found in XMLBIF `text`."""
    at = _Where(file)
    if not text.strip():
        raise at.error("the file is empty")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise at.error(f"cannot read the network: not well-formed XML: {exc}") from None
    network = root.find("NETWORK")
    if network is None:
        raise at.error(f"no <NETWORK> element inside <{shown(root.tag)[1:-1]}>")
    states: dict[str, tuple[str, ...]] = {}
    for variable in network.iter("VARIABLE"):
        name = (variable.findtext("NAME") or "").strip()
        if not name:
            raise at.error("a <VARIABLE> without a <NAME>", None, "variable")
        if name in states:
            raise at.error("declared twice", name, "variable")
        states[name] = _states(at, name, [(o.text or "").strip() for o in variable.iter("OUTCOME")])
    families: dict[str, list[str]] = {}
    for definition in network.iter("DEFINITION"):
        node = (definition.findtext("FOR") or "").strip()
        parents = [(g.text or "").strip() for g in definition.iter("GIVEN")]
        _check_family(at, node, parents, states, set(families))
        families[node] = parents
        expected = len(states[node]) * math.prod(len(states[p]) for p in parents)
        _numbers(at, node, definition.findtext("TABLE") or "", expected, "cpt")
    topological_order(families, file=file)
