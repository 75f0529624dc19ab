"""Figures: the bars and lines show the numbers they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import syncdx
from syncdx.plot import plot_posterior, plot_trajectory

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def model() -> syncdx.Model:
    return syncdx.load_model()


def test_posterior_bars_show_the_top_causes(model: syncdx.Model) -> None:
    """plot_posterior draws a bar per shown cause, as long as its probability, likeliest on top."""
    posterior = model.posterior({"storage_full_alert": "yes"})
    ax = plot_posterior(posterior, prior=model.posterior(), top=5)
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, posterior.head(5).to_numpy()[::-1])
    assert ax.get_yticklabels()[-1].get_text() == posterior.index[0]


def test_trajectory_has_one_line_per_cause(model: syncdx.Model) -> None:
    """plot_trajectory draws each chosen cause across the steps."""
    steps = {"start": model.posterior(), "banner": model.posterior({"paused_banner": "yes"})}
    ax = plot_trajectory(steps, causes=["stalled_session", "icloud_outage"])
    assert [line.get_label() for line in ax.get_lines()] == ["stalled_session", "icloud_outage"]
    np.testing.assert_allclose(
        ax.get_lines()[0].get_ydata(),
        [steps["start"]["stalled_session"], steps["banner"]["stalled_session"]],
    )
