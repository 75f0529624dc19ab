"""Networks in and out of pgmpy: BIF / XMLBIF files, and `DiscreteBayesianNetwork` objects.

pgmpy is imported here only, and only when one of these functions runs, so `import syncdx`
stays fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from syncdx._ranking import TIE
from syncdx.errors import ModelError
from syncdx.network._model_file import MAX_MODEL_BYTES, read_model_text
from syncdx.network._network import FloatArray, Network, Role, Variable, topological_order
from syncdx.network._network_checks import check_bif, check_xmlbif

#: File endings read through pgmpy's readers (each also gzip-compressed, ending in .gz).
NETWORK_SUFFIXES = (".bif", ".xmlbif", ".xml")
#: State names that read as a root's normal state (compared case-insensitively): among the
#: states tied for most probable a priori, the first of these is the normal one.
NORMAL_NAMES = frozenset(
    ("no", "false", "absent", "normal", "off", "none", "ok", "0", "negative", "healthy")
)


def network_format(path: Path) -> str | None:
    """The network suffix of `path` (".bif", ".xmlbif", ".xml"), looking through a ".gz"."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes and suffixes[-1] in NETWORK_SUFFIXES else None


def _bif_hint(text: str) -> str:
    """Why pgmpy's BIF reader may have failed on `text`, where it is something we know."""
    spaced = [m.group(1) for m in re.finditer(r"^\s*variable\s+([^{]*?)\s*\{", text, re.M)]
    spaced = [name for name in spaced if name.split() != [name]]
    if spaced:
        return f"; BIF node names cannot contain spaces (e.g. {spaced[0]!r}): use XMLBIF"
    return ""


def read_network_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_MODEL_BYTES) -> Network:
    """Read a BIF or XMLBIF network of at most `max_bytes` bytes (decompressed). Causes are its
    root nodes, everything else is observable."""
    path = Path(path)
    if not path.is_file():
        raise ModelError("no such file", file=str(path))
    text = read_model_text(path, "network", max_bytes)
    bif = network_format(path) == ".bif"
    (check_bif if bif else check_xmlbif)(text, str(path))
    try:
        if bif:
            from pgmpy.readwrite import BIFReader

            bn = BIFReader(string=text).get_model()
        else:
            from pgmpy.readwrite import XMLBIFReader

            bn = XMLBIFReader(string=text).get_model()
    except Exception as exc:  # pgmpy's readers raise many kinds of errors on bad files
        hint = _bif_hint(text) if bif else ""
        raise ModelError(f"cannot read the network: {exc!r}{hint}", file=str(path)) from exc
    stem = path.name.split(".")[0]
    return from_pgmpy(bn, name=stem, file=str(path))


def bundled_network(name: str) -> Path:
    """Path of a classic network that pgmpy ships (asia, alarm, child, insurance, win95pts, ...)."""
    import pgmpy

    path = Path(pgmpy.__file__).parent / "utils" / "example_models" / f"{name}.bif.gz"
    if not path.is_file():
        raise ModelError("pgmpy ships no such example network", file=str(path))
    return path


def from_pgmpy(bn: Any, *, name: str = "network", file: str | None = None) -> Network:
    """A `Network` from a pgmpy `DiscreteBayesianNetwork` (tables renormalised to sum to 1).

    Root nodes become causes whose normal state is their most probable one a priori (on a
    tie, see `normal_state`).
    """
    cpds = {str(cpd.variable): cpd for cpd in bn.get_cpds()}
    if not cpds:
        raise ModelError("the network has no nodes", file=file)
    missing = sorted(str(n) for n in bn.nodes() if str(n) not in cpds)
    if missing:
        raise ModelError("node has no probability table", file=file, node=missing[0], field="cpt")
    parents = {node: [str(p) for p in cpds[node].variables[1:]] for node in sorted(cpds)}
    order = topological_order({n: parents[n] for n in (str(n) for n in bn.nodes())})
    index = {node: i for i, node in enumerate(order)}
    variables, tables = [], []
    for node in order:
        variable, table = _convert_cpd(cpds[node], file)
        variables.append(variable)
        tables.append(table)
    return Network(
        tuple(variables),
        tuple(tuple(index[p] for p in parents[node]) for node in order),
        tuple(tables),
        name=name,
        file=file,
    )


def _convert_cpd(cpd: Any, file: str | None) -> tuple[Variable, np.ndarray]:
    node = str(cpd.variable)
    names = cpd.state_names
    states = tuple(str(s) for s in names[cpd.variable])
    evidence = list(cpd.variables[1:])
    values = np.asarray(cpd.get_values(), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        bad = float(values[~np.isfinite(values)][0])
        message = f"the table holds {bad!r}: every entry must be a finite probability"
        raise ModelError(message, file=file, node=node, field="cpt")
    shape = [len(names[e]) for e in evidence]
    table = np.moveaxis(values.reshape([len(states), *shape]), 0, -1)
    sums = table.sum(axis=-1, keepdims=True)
    if np.any(np.abs(sums - 1.0) > 1e-3) or np.any(table < 0):
        raise ModelError("table columns must be probability distributions", file=file, node=node)
    table = np.ascontiguousarray(table / sums)
    if evidence:
        return Variable(node, states, "observation", text=node, cost=1.0), table
    return Variable(node, states, "cause", text=node, normal=normal_state(states, table)), table


def normal_state(states: tuple[str, ...], prior: FloatArray) -> str:
    """A root's normal state: its most probable state a priori; among states tied for that,
    the first whose name reads as normal (`NORMAL_NAMES`), else the first."""
    tied = [s for s, p in zip(states, prior.tolist()) if p >= prior.max() - TIE]
    return next((s for s in tied if s.casefold() in NORMAL_NAMES), tied[0])


def to_pgmpy(network: Network) -> Any:
    """The equivalent pgmpy `DiscreteBayesianNetwork` (node names are ids)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    bn = DiscreteBayesianNetwork()
    bn.add_nodes_from(network.ids())
    bn.add_edges_from(
        (network.variables[p].id, v.id)
        for v, ps in zip(network.variables, network.parents)
        for p in ps
    )
    for var, ps, cpt in zip(network.variables, network.parents, network.cpts):
        evidence = [network.variables[p].id for p in ps]
        bn.add_cpds(
            TabularCPD(
                var.id,
                var.card,
                np.moveaxis(cpt, -1, 0).reshape(var.card, -1),
                evidence=evidence or None,
                evidence_card=[network.variables[p].card for p in ps] or None,
                state_names={
                    network.variables[i].id: list(network.variables[i].states)
                    for i in (*ps, network.index[var.id])
                },
            )
        )
    return bn


def with_roles(
    network: Network,
    causes: Sequence[str],
    observations: Sequence[str] | None,
    normal: Mapping[str, str],
) -> Network:
    """`network` with `causes` as its causes (normal state from `normal`), `observations` as
    its observations (None: every other node) and the remaining nodes hidden. A `ModelError`
    names an unknown node or one given both roles."""
    for name in (*causes, *(observations or ())):
        network.variable(name)  # a ModelError naming an unknown node
    both = set(causes) & set(observations or ())
    if both:
        raise ModelError(
            "a node cannot be both a cause and an observation", file=network.file, node=min(both)
        )
    variables = []
    for v in network.variables:
        if v.id in causes:
            role: Role = "cause"
        elif observations is None or v.id in observations:
            role = "observation"
        else:
            role = "hidden"
        cost = (v.cost if v.cost is not None else 1.0) if role == "observation" else None
        variables.append(replace(v, role=role, cost=cost, normal=normal.get(v.id, v.normal)))
    return replace(network, variables=tuple(variables))
