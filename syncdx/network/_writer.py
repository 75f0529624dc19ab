"""Write a model as YAML: the format `_authoring` reads, so a written model loads back.

A model read from YAML is written from its document (structure, texts, costs, sources and
assumptions kept, numbers as they now stand); a model without one (read from BIF, or built in
code) is first described as a document (`document_of`), every table as a `cpt`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from syncdx.network._network import Network

#: Significant digits a written probability keeps.
DIGITS = 6
_ASSUMED = "written by syncdx from a model without a YAML source"


def number(value: float) -> float:
    """`value` rounded to `DIGITS` significant digits (a plain float, as YAML writes it)."""
    return float(f"{float(value):.{DIGITS}g}")


def distribution(states: tuple[str, ...], values: Any) -> dict[str, float]:
    """{state: probability} rounded for writing, still summing to 1 within the reader's
    tolerance: every entry but the largest rounded to `DIGITS` digits, the largest the rest."""
    values = np.asarray(values, dtype=np.float64)
    largest = int(np.argmax(values))
    rounded = [number(x) for x in values]
    rest = math.fsum(x for i, x in enumerate(rounded) if i != largest)
    rounded[largest] = round(1.0 - rest, 12)
    return dict(zip(states, rounded))


def document_of(network: Network) -> dict[str, Any]:
    """A YAML model document describing `network`: causes with priors, other nodes as cpts."""
    document: dict[str, Any] = {"syncdx_model": 1, "name": network.name}
    if network.title:
        document["title"] = network.title
    if network.documents:
        document["documents"] = {key: {"title": t} for key, t in network.documents.items()}
    if network.unknown_words is not None:
        document["unknown_words"] = sorted(network.unknown_words)
    sections: dict[str, list[dict[str, Any]]] = {"causes": [], "observations": [], "hidden": []}
    for i, variable in enumerate(network.variables):
        entry: dict[str, Any] = {"id": variable.id}
        if variable.text:
            entry["question" if variable.role == "observation" else "text"] = variable.text
        if variable.role == "observation":
            entry["cost"] = variable.cost if variable.cost is not None else 1
        _provenance(entry, variable.source, variable.assumption)
        if variable.role == "cause":
            entry["prior"] = number(1.0 - network.cpts[i][variable.states.index(variable.normal)])
            sections["causes"].append(entry)
            continue
        entry["states"] = list(variable.states)
        entry["parents"] = [network.variables[p].id for p in network.parents[i]]
        entry["cpt"] = _rows(network, i)
        sections["observations" if variable.role == "observation" else "hidden"].append(entry)
    document.update({k: v for k, v in sections.items() if v})
    if network.actions:
        document["actions"] = [_action(a) for a in network.actions]
    return document


def _provenance(entry: dict[str, Any], source: tuple[str, ...], assumption: str) -> None:
    if source:
        entry["source"] = list(source)
    if assumption or not source:
        entry["assumption"] = assumption or _ASSUMED


def _rows(network: Network, i: int) -> list[dict[str, Any]]:
    variable, parents, table = network.variables[i], network.parents[i], network.cpts[i]
    rows = []
    for config in np.ndindex(*table.shape[:-1]):
        when = {
            network.variables[p].id: network.variables[p].states[s] for p, s in zip(parents, config)
        }
        p = distribution(variable.states, table[config])
        rows.append({"when": when, "p": p, "assumption": _ASSUMED})
    return rows


def _action(action: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": action.id, "text": action.text, "cost": action.cost}
    _provenance(entry, action.source, action.assumption)
    entry["fixes"] = {
        cause: {"p": number(p), "assumption": _ASSUMED} for cause, p in action.fixes.items()
    }
    if action.last_resort:
        entry["last_resort"] = True
        entry["fixes_rest"] = {"p": number(action.fixes_rest), "assumption": _ASSUMED}
    return entry


def dump_document(document: Any) -> str:
    """A model document as YAML text: keys in their order, innermost collections inline."""
    return yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )


def write_yaml_model(document: Any, path: str | os.PathLike[str]) -> None:
    """Write a model document to `path` as YAML (UTF-8)."""
    Path(path).write_text(dump_document(document), encoding="utf-8")
