"""BIF networks with the causes a user chooses (load_model(causes=..., observations=...))."""

from __future__ import annotations

import numpy as np
import pytest

import syncdx
from syncdx import ModelError
from syncdx.cli import main
from syncdx.network import bundled_network


def test_chosen_causes_replace_the_roots() -> None:
    """In asia the diseases can be the causes; unlisted nodes become hidden, and the
    posterior of a cause is P(not its normal state) from exact inference."""
    path = bundled_network("asia")
    model = syncdx.load_model(path, causes=["tub", "lung", "bronc"], observations=["xray", "dysp"])
    assert model.causes == ("tub", "lung", "bronc")
    assert model.observations == ("xray", "dysp")
    assert set(model.network.ids("hidden")) == {"asia", "smoke", "either"}
    assert model.network.variable("lung").normal == "no"
    default = syncdx.load_model(path)
    marginal = default.marginals({"xray": "yes"}, ["lung"])["lung"]
    assert model.posterior({"xray": "yes"})["lung"] == pytest.approx(marginal["yes"], abs=1e-12)
    assert set(default.causes) == {"asia", "smoke"}  # the default stays the roots


def test_without_observations_every_other_node_is_a_question() -> None:
    """With causes only, the other nodes (former roots included) are observations."""
    model = syncdx.load_model(bundled_network("asia"), causes=["lung"])
    assert model.causes == ("lung",)
    assert "smoke" in model.observations
    np.testing.assert_allclose(model.posterior({"smoke": "yes"}).sum(), 0.1, atol=1e-12)


def test_bad_roles_are_refused() -> None:
    """An unknown node, or one named both a cause and an observation, is a ModelError."""
    path = bundled_network("asia")
    with pytest.raises(ModelError, match="nope"):
        syncdx.load_model(path, causes=["nope"])
    with pytest.raises(ModelError, match="both a cause and an observation"):
        syncdx.load_model(path, causes=["lung"], observations=["lung", "xray"])


def test_cli_causes_option(capsys: pytest.CaptureFixture[str]) -> None:
    """`--causes` picks the causes the CLI's posterior lists."""
    path = str(bundled_network("asia"))
    assert main(["posterior", "--model", path, "--causes", "tub,lung,bronc", "xray=yes"]) == 0
    out = capsys.readouterr().out
    assert "lung" in out
    assert "smoke" not in out
