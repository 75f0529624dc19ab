"""Hostile BIF, XMLBIF and compressed model files: size limits, non-finite numbers, and the
mistakes pgmpy's readers let through or report in their own terms."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import ModelError
from syncdx.network._bif import to_pgmpy
from syncdx.network._network import Network
from tests.models import TINY_YAML
from tests.strategies import networks

BIF = """network test {
}
variable A {
  type discrete [ 2 ] { yes, no };
}
variable B {
  type discrete [ 2 ] { yes, no };
}
probability ( A ) {
  table 0.2, 0.8;
}
probability ( B | A ) {
  (yes) 0.9, 0.1;
  (no) 0.3, 0.7;
}
"""

XMLBIF = """<?xml version="1.0"?>
<BIF VERSION="0.3">
<NETWORK>
<NAME>t</NAME>
<VARIABLE TYPE="nature"><NAME>A</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no</OUTCOME></VARIABLE>
<VARIABLE TYPE="nature"><NAME>B</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no</OUTCOME></VARIABLE>
<DEFINITION><FOR>A</FOR><TABLE>0.2 0.8</TABLE></DEFINITION>
<DEFINITION><FOR>B</FOR><GIVEN>A</GIVEN><TABLE>0.9 0.1 0.3 0.7</TABLE></DEFINITION>
</NETWORK>
</BIF>
"""

YAML = TINY_YAML

FILES = {"m.bif": BIF, "m.xmlbif": XMLBIF, "m.yaml": YAML}


def _write(directory: Path, name: str, text: str, compressed: bool = False) -> Path:
    data = text.encode("utf-8")
    path = directory / (name + ".gz" if compressed else name)
    path.write_bytes(gzip.compress(data) if compressed else data)
    return path


# -- size limit ---------------------------------------------------------------------------------


@given(
    name=st.sampled_from(sorted(FILES)),
    compressed=st.booleans(),
    padding=st.integers(0, 5_000),
    slack=st.integers(-3, 3),
)
@settings(max_examples=30, deadline=None)
def test_a_file_loads_exactly_when_within_max_bytes(
    tmp_path_factory: pytest.TempPathFactory, name: str, compressed: bool, padding: int, slack: int
) -> None:
    """A model file of n bytes (decompressed) loads with max_bytes >= n and is refused, naming
    the limit and how to raise it, with max_bytes < n."""
    if name.endswith(".yaml") and compressed:
        compressed = False  # YAML models are read plain
    text = FILES[name] + "\n" * padding
    path = _write(tmp_path_factory.mktemp("size"), name, text, compressed)
    limit = len(text.encode("utf-8")) + slack
    if slack >= 0:
        syncdx.load_model(path, max_bytes=limit)
    else:
        with pytest.raises(ModelError, match=rf"larger than {limit:,} bytes.*max_bytes="):
            syncdx.load_model(path, max_bytes=limit)


def test_a_gzip_bomb_is_refused(tmp_path: Path) -> None:
    """A 50 MB run of spaces compressed to kilobytes is refused at the default-like limit."""
    path = tmp_path / "bomb.bif.gz"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(50):
            handle.write(b" " * 2**20)
    assert path.stat().st_size < 200_000
    with pytest.raises(ModelError, match=r"bomb\.bif\.gz: .*once decompressed.*max_bytes"):
        syncdx.load_model(path, max_bytes=10 * 2**20)


def test_max_bytes_must_be_a_size() -> None:
    """max_bytes that is not a non-negative integer is a TypeError naming it."""
    with pytest.raises(TypeError, match="max_bytes"):
        syncdx.load_model(max_bytes="big")  # type: ignore[arg-type]


# -- non-finite numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan nan", "inf 0", "0.5 -inf", "NaN 1"])
def test_non_finite_xmlbif_tables_are_refused(tmp_path: Path, bad: str) -> None:
    """A table entry that is nan or infinite is a ModelError naming the node and the table."""
    path = _write(
        tmp_path, "m.xmlbif", XMLBIF.replace("<TABLE>0.2 0.8</TABLE>", f"<TABLE>{bad}</TABLE>")
    )
    with pytest.raises(ModelError, match=r"m\.xmlbif, node 'A', field 'cpt': .*finite"):
        syncdx.load_model(path)


# -- mistakes pgmpy lets through or words in its own terms ------------------------------------

B_ROWS = "  (yes) 0.9, 0.1;\n  (no) 0.3, 0.7;\n"
BIF_CASES = [
    ("empty", lambda t: "", r"the file is empty"),
    ("blank", lambda t: " \n\n", r"the file is empty"),
    (
        "repeated state",
        lambda t: t.replace(
            "[ 2 ] { yes, no };\n}\nvariable B", "[ 2 ] { yes, yes };\n}\nvariable B"
        ),
        r"node 'A', field 'states': repeated state 'yes'",
    ),
    ("unknown parent", lambda t: t.replace("B | A", "B | Z"), r"node 'B', field 'parents'.*'Z'"),
    (
        "wrong table length",
        lambda t: t.replace("table 0.2, 0.8;", "table 0.2, 0.8, 0.0, 1.0;"),
        r"node 'A', field 'cpt': 4 numbers where 2",
    ),
    (
        "wrong state count",
        lambda t: t.replace(
            "variable A {\n  type discrete [ 2 ]", "variable A {\n  type discrete [ 3 ]"
        ),
        r"node 'A', field 'states': declares 3 states but lists 2",
    ),
    (
        "declared twice",
        lambda t: t + "variable A {\n  type discrete [ 3 ] { x, y, z };\n}\n",
        r"node 'A', field 'variable': declared twice",
    ),
    (
        "two tables",
        lambda t: t + "probability ( A ) {\n  table 0.5, 0.5;\n}\n",
        r"node 'A', field 'cpt': two probability tables",
    ),
    (
        "table of an undeclared node",
        lambda t: t + "probability ( C ) {\n  table 0.5, 0.5;\n}\n",
        r"node 'C', field 'cpt': .*not declared",
    ),
    (
        "row of an unknown state",
        lambda t: t.replace("(no) 0.3", "(maybe) 0.3"),
        r"field 'cpt\(maybe\)'",
    ),
    (
        "missing row",
        lambda t: t.replace("  (no) 0.3, 0.7;\n", ""),
        r"node 'B', field 'cpt': 1 config",
    ),
    (
        "repeated row",
        lambda t: t.replace(B_ROWS, B_ROWS + "  (no) 0.3, 0.7;\n"),
        r"field 'cpt\(no\)': repeated row",
    ),
    (
        "nan",
        lambda t: t.replace("table 0.2, 0.8;", "table nan, nan;"),
        r"'nan' is not a probability",
    ),
    ("negative", lambda t: t.replace("(no) 0.3, 0.7", "(no) -0.3, 1.3"), r"'-0.3' is not a prob"),
    (
        "cycle",
        lambda t: t.replace(
            "probability ( A ) {\n  table 0.2, 0.8;", "probability ( A | B ) {\n" + B_ROWS
        ),
        r"the graph has a cycle of 2 nodes",
    ),
]
XMLBIF_CASES = [
    ("empty", lambda t: "", r"the file is empty"),
    ("no NETWORK", lambda t: t.replace("<NETWORK>", "").replace("</NETWORK>", ""), r"no <NETWORK>"),
    ("not XML", lambda t: "hello", r"not well-formed XML: .*line 1"),
    (
        "repeated state",
        lambda t: t.replace(
            "<NAME>B</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no",
            "<NAME>B</NAME><OUTCOME>yes</OUTCOME><OUTCOME>yes",
        ),
        r"node 'B', field 'states': repeated state 'yes'",
    ),
    (
        "unknown parent",
        lambda t: t.replace("<GIVEN>A", "<GIVEN>Z"),
        r"node 'B', field 'parents'.*'Z'",
    ),
    (
        "wrong table length",
        lambda t: t.replace("<TABLE>0.2 0.8</TABLE>", "<TABLE>0.2 0.8 0.5 0.5</TABLE>"),
        r"node 'A', field 'cpt': 4 numbers where 2",
    ),
    (
        "declared twice",
        lambda t: t.replace(
            "<DEFINITION>",
            '<VARIABLE TYPE="nature"><NAME>A</NAME><OUTCOME>x</OUTCOME><OUTCOME>y</OUTCOME>'
            "</VARIABLE><DEFINITION>",
            1,
        ),
        r"node 'A', field 'variable': declared twice",
    ),
    (
        "two tables",
        lambda t: t.replace(
            "</NETWORK>", "<DEFINITION><FOR>A</FOR><TABLE>0.5 0.5</TABLE></DEFINITION></NETWORK>"
        ),
        r"node 'A', field 'cpt': two probability tables",
    ),
    ("text", lambda t: t.replace("<TABLE>0.2 0.8", "<TABLE>0.2 abc"), r"'abc' is not a number"),
]


@pytest.mark.parametrize(
    ("change", "match"), [c[1:] for c in BIF_CASES], ids=[c[0] for c in BIF_CASES]
)
def test_bif_mistakes_name_file_node_and_field(tmp_path: Path, change: Any, match: str) -> None:
    """Each BIF mistake is a ModelError naming the file, the node and the field, in our words."""
    path = _write(tmp_path, "m.bif", change(BIF))
    with pytest.raises(ModelError, match=r"m\.bif(, |: ).*" + match):
        syncdx.load_model(path)


@pytest.mark.parametrize(
    ("change", "match"), [c[1:] for c in XMLBIF_CASES], ids=[c[0] for c in XMLBIF_CASES]
)
def test_xmlbif_mistakes_name_file_node_and_field(tmp_path: Path, change: Any, match: str) -> None:
    """Each XMLBIF mistake is a ModelError naming the file, the node and the field."""
    path = _write(tmp_path, "m.xmlbif", change(XMLBIF))
    with pytest.raises(ModelError, match=r"m\.xmlbif(, |: ).*" + match):
        syncdx.load_model(path)


@given(network=networks(max_nodes=6), suffix=st.sampled_from([".bif", ".xmlbif"]))
@settings(max_examples=15, deadline=None)
def test_written_networks_read_back(
    tmp_path_factory: pytest.TempPathFactory, network: Network, suffix: str
) -> None:
    """Any network pgmpy writes as BIF or XMLBIF passes the checks and reads back the same
    tables."""
    from pgmpy.readwrite import BIFWriter, XMLBIFWriter

    bn = to_pgmpy(network)
    text = str((BIFWriter if suffix == ".bif" else XMLBIFWriter)(bn))
    directory = tmp_path_factory.mktemp("written")
    read = syncdx.load_model(_write(directory, "m" + suffix, text)).network
    for node in network.ids():
        np.testing.assert_allclose(
            np.moveaxis(read.cpts[read.index[node]], -1, 0).ravel(),
            np.moveaxis(network.cpts[network.index[node]], -1, 0).ravel(),
            atol=1e-6,
        )
