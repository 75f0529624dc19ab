"""Figures: the bars and lines show the numbers they are given."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import matplotlib.pyplot
import numpy as np
import pandas as pd
import pytest

import syncdx
from syncdx.plot import plot_posterior, plot_trajectory

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    matplotlib.pyplot.close("all")


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


def _inside_the_figure(ax: object) -> bool:
    """Whether the x label and every y tick label are drawn within the figure (not clipped)."""
    figure = ax.figure  # type: ignore[attr-defined]
    figure.canvas.draw()
    boxes = [ax.xaxis.label, *ax.get_yticklabels()]  # type: ignore[attr-defined]
    extents = [text.get_window_extent() for text in boxes]
    return all(box.x0 >= 0 and box.y0 >= 0 for box in extents)


@pytest.mark.parametrize("count", [1, 12])
def test_posterior_labels_fit_in_the_figure(count: int) -> None:
    """Long cause names and the axis label stay inside the figure, also with a single cause."""
    posterior = pd.Series({f"a_rather_long_cause_name_{i}": i / count for i in range(count)})
    assert _inside_the_figure(plot_posterior(posterior, prior=posterior / 2))


def test_labels_are_drawn_literally() -> None:
    """A `$` in a cause id or step label is shown as is, not parsed as mathtext."""
    posterior = pd.Series({r"bad$\foo$": 0.3, "ok": 0.1})
    ax = plot_posterior(posterior)
    ax.figure.canvas.draw()
    steps = {r"x=$\bar$": posterior, "y": posterior}
    ax = plot_trajectory(steps, causes=[r"bad$\foo$"])
    ax.figure.canvas.draw()
    assert ax.get_legend().get_texts()[0].get_text() == r"bad\$\foo\$"


def test_trajectory_of_nothing_draws_an_empty_figure() -> None:
    """No steps: an empty figure, and no warning about a legend without entries."""
    assert plot_trajectory({}).get_lines() == []


def test_trajectory_names_unknown_causes(model: syncdx.Model) -> None:
    """An unknown cause is a ValueError naming it and the known ones."""
    with pytest.raises(ValueError, match=r"unknown cause\(s\) 'nope'; known: .*stalled_session"):
        plot_trajectory({"start": model.posterior()}, causes=["nope"])
