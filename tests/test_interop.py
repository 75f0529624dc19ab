"""Networks from BIF / XMLBIF files and pgmpy objects, and back to pgmpy."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest

import syncdx
from syncdx import ModelError
from syncdx.interop import bundled_network, from_pgmpy


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
        path.write_text(text)
    with pytest.raises(ModelError, match=match) as info:
        syncdx.load_model(path)
    assert name in str(info.value)
