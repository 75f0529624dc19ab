"""Hostile BIF, XMLBIF and compressed model files: size limits, non-finite numbers, and the
mistakes pgmpy's readers let through or report in their own terms."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import ModelError

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

YAML = """syncdx_model: 1
causes:
  - {id: c, prior: 0.1, assumption: a}
observations:
  - id: o
    question: Seen?
    cost: 1
    assumption: a
    noisy_or:
      leak: {p: 0.1, assumption: a}
      links:
        c: {p: 0.5, assumption: a}
"""

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


@pytest.mark.parametrize("bad", ["nan nan", "inf 0", "NaN 1"])
def test_non_finite_xmlbif_tables_are_refused(tmp_path: Path, bad: str) -> None:
    """A table entry that is nan or infinite is a ModelError naming the node and the table."""
    path = _write(
        tmp_path, "m.xmlbif", XMLBIF.replace("<TABLE>0.2 0.8</TABLE>", f"<TABLE>{bad}</TABLE>")
    )
    with pytest.raises(ModelError, match=r"m\.xmlbif, node 'A', field 'cpt': .*finite"):
        syncdx.load_model(path)
