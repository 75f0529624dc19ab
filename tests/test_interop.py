"""Networks from BIF / XMLBIF files and pgmpy objects, and back to pgmpy."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import syncdx
from syncdx import ModelError
from syncdx.network._bif import bundled_network, from_pgmpy, normal_state


def _asia() -> object:
    from pgmpy.readwrite import BIFReader

    with gzip.open(bundled_network("asia"), "rt") as handle:
        return BIFReader(string=handle.read()).get_model()


@pytest.mark.parametrize(("suffix", "writer"), [(".bif", "BIFWriter"), (".xmlbif", "XMLBIFWriter")])
def test_load_network_files(tmp_path: Path, suffix: str, writer: str) -> None:
    """load_model reads BIF and XMLBIF: roots become causes, the rest observations."""
    from pgmpy import readwrite

    path = tmp_path / f"asia{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgmpy's writers warn about their own deprecations
        getattr(readwrite, writer)(_asia()).write(str(path))
    model = syncdx.load_model(path)
    assert set(model.causes) == {"asia", "smoke"}
    assert "xray" in model.observations
    assert model.states("xray") == ("yes", "no")
    direct = syncdx.Model(from_pgmpy(_asia()))
    evidence = {"xray": "yes", "dysp": "no"}
    np.testing.assert_allclose(
        model.posterior(evidence).sort_index(), direct.posterior(evidence).sort_index(), atol=1e-12
    )


def test_load_compressed_bundled_network() -> None:
    """load_model reads a gzip-compressed BIF, here one of pgmpy's classic networks."""
    model = syncdx.load_model(bundled_network("win95pts"))
    assert len(model.network) == 76
    assert model.name == "win95pts"


def test_cause_posterior_is_probability_of_leaving_the_normal_state() -> None:
    """For a network's root, 'present' means: not in its most probable prior state."""
    model = syncdx.Model(from_pgmpy(_asia()))
    normal = model.network.variable("smoke").normal
    marginal = model.marginals({"xray": "yes"}, ["smoke"])["smoke"]
    assert model.posterior({"xray": "yes"})["smoke"] == pytest.approx(1 - marginal[normal])


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("broken.bif", "network x { this is not bif", "the network has no nodes"),
        ("broken.xmlbif", "<BIF><NETWORK>", "cannot read the network"),
        (
            "spaced.bif",
            "network x {\n}\nvariable light bulb {\n  type discrete [ 2 ] { on, off };\n}\n"
            "probability ( light bulb ) {\n  table 0.5, 0.5;\n}\n",
            "BIF node names cannot contain spaces \\(e.g. 'light bulb'\\): use XMLBIF",
        ),
        ("latin1.bif", "network caf\xe9 {", "cannot read the network: 'utf-8' codec"),
        ("model.json", "{}", "unknown model format '.json'"),
        ("missing.yaml", None, "missing.yaml"),
    ],
)
def test_unreadable_model_files_name_the_file(
    tmp_path: Path, name: str, text: str | None, match: str
) -> None:
    """A bad, missing or unknown-format model file is a ModelError naming the file."""
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="latin-1")
    with pytest.raises(ModelError, match=match) as info:
        syncdx.load_model(path)
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("states", "prior", "normal"),
    [
        (("yes", "no"), [0.5, 0.5], "no"),  # asia's smoke: a tie, "no" reads as normal
        (("True", "False"), [0.5, 0.5], "False"),
        (("present", "ABSENT"), [0.5, 0.5], "ABSENT"),
        (("a", "b", "ok"), [0.3, 0.3, 0.4], "ok"),
        (("high", "low"), [0.5, 0.5], "high"),  # nothing reads as normal: the first
        (("yes", "no"), [0.6, 0.4], "yes"),  # no tie: the most probable, whatever its name
        (("on", "off", "none"), [0.2, 0.4, 0.4], "off"),
    ],
)
def test_normal_state_of_a_root(states: tuple[str, ...], prior: list[float], normal: str) -> None:
    """The most probable state a priori; on a tie, the first named like a normal state."""
    assert normal_state(states, np.array(prior)) == normal


def test_asia_smoke_present_means_smoking() -> None:
    """asia's smoke is 0.5 / 0.5: "present" must mean smoke = yes, and the model's table says
    so where a BIF cause has no text of its own."""
    model = syncdx.Model(from_pgmpy(_asia()))
    assert model.network.variable("smoke").normal == "no"
    assert model.posterior({"smoke": "yes"})["smoke"] == 1.0
    assert re.search(r"<td[^>]*>smoke = yes</td>", model._repr_html_())


_SPACED_XMLBIF = """<?xml version='1.0' encoding='utf-8'?>
<BIF VERSION="0.3"><NETWORK><NAME>spaced</NAME>
<VARIABLE TYPE="nature"><NAME>node a</NAME><OUTCOME>low one</OUTCOME><OUTCOME>high one</OUTCOME>
</VARIABLE>
<VARIABLE TYPE="nature"><NAME>d d</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no</OUTCOME></VARIABLE>
<DEFINITION><FOR>node a</FOR><TABLE>0.6 0.4 </TABLE></DEFINITION>
<DEFINITION><FOR>d d</FOR><GIVEN>node a</GIVEN><TABLE>0.9 0.1 0.2 0.8 </TABLE></DEFINITION>
</NETWORK></BIF>
"""


def test_xmlbif_reads_names_with_spaces(tmp_path: Path) -> None:
    """As the README says, XMLBIF node and state names may contain spaces."""
    path = tmp_path / "spaced.xml"
    path.write_text(_SPACED_XMLBIF)
    model = syncdx.load_model(path)
    assert model.causes == ("node a",)
    assert model.states("node a") == ("low one", "high one")
    assert model.posterior({"d d": "yes"})["node a"] == pytest.approx(
        0.4 * 0.2 / (0.6 * 0.9 + 0.08)
    )


def test_a_node_with_one_state_is_refused_by_name(tmp_path: Path) -> None:
    """As the README says, every node needs at least two states: one is a ModelError naming it."""
    path = tmp_path / "single.xml"
    path.write_text(
        _SPACED_XMLBIF.replace("<OUTCOME>no</OUTCOME>", "").replace("0.9 0.1 0.2 0.8", "1 1")
    )
    with pytest.raises(ModelError, match=r"node 'd d'.*at least two distinct states"):
        syncdx.load_model(path)
