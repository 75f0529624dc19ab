"""Figures: the bars and lines show the numbers they are given."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

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


def _segments(ax: object) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Every straight piece of every line drawn."""
    out = []
    for line in ax.get_lines():  # type: ignore[attr-defined]
        points = list(zip(line.get_xdata(), line.get_ydata()))
        out += list(itertools.pairwise(points))
    return out


def _crossings(ax: object) -> int:
    """Pairs of drawn segments that cross away from their ends."""
    segments = np.array(_segments(ax), dtype=float)  # (S, 2, 2)
    p, r = segments[:, 0], segments[:, 1] - segments[:, 0]
    count = 0
    for i in range(len(segments)):
        q, s = p[i + 1 :], r[i + 1 :]
        denom = r[i, 0] * s[:, 1] - r[i, 1] * s[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((q - p[i])[:, 0] * s[:, 1] - (q - p[i])[:, 1] * s[:, 0]) / denom
            u = ((q - p[i])[:, 0] * r[i, 1] - (q - p[i])[:, 1] * r[i, 0]) / denom
        inside = (t > 1e-9) & (t < 1 - 1e-9) & (u > 1e-9) & (u < 1 - 1e-9)
        count += int(np.count_nonzero(inside & (np.abs(denom) > 1e-12)))
    return count


def _texts_inside(ax: object) -> bool:
    """Every text of the axes (and its title) is drawn within the figure."""
    figure = ax.figure  # type: ignore[attr-defined]
    figure.canvas.draw()
    bounds = figure.bbox
    texts = [*ax.texts, ax.title]  # type: ignore[attr-defined]
    boxes = [t.get_window_extent() for t in texts]
    return all(
        b.x0 >= bounds.x0 - 1 and b.x1 <= bounds.x1 + 1 and b.y0 >= -1 and b.y1 <= bounds.y1 + 1
        for b in boxes
    )


def test_win95pts_is_drawn_with_few_crossings() -> None:
    """win95pts is drawn with at most 1.5 x dot's 123 edge crossings, every node inside."""
    from syncdx.network import bundled_network
    from syncdx.plot import network_layout, plot_network

    win = syncdx.load_model(bundled_network("win95pts"))
    ax = plot_network(win)
    assert _crossings(ax) <= 1.5 * 123
    assert len(ax.texts) == len(win.network)
    assert {t.get_text() for t in ax.texts} == set(win.network.ids())  # ids are their texts
    assert set(network_layout(win)) == set(win.network.ids())
    assert _texts_inside(ax)


def _boxes(ax: Any) -> list[Any]:
    """The window extents of the node boxes, drawn."""
    ax.figure.canvas.draw()
    return [t.get_bbox_patch().get_window_extent() for t in ax.texts]


def test_shipped_network_is_readable_at_a_notebooks_width(model: syncdx.Model) -> None:
    """The shipped model's picture is at most 9.5 inches (950 pixels at 100 dpi) wide with
    9-point labels, no two node boxes overlap, every box is inside the figure, and each label
    is the start of its node's text in whole words (ending in "…" when shortened)."""
    from syncdx.plot import plot_network

    ax = plot_network(model, {"storage_full_alert": "yes"})
    width, height = ax.figure.get_size_inches()
    assert width <= 9.5
    assert height > width / 2  # folded: taller, not a strip
    assert {t.get_fontsize() for t in ax.texts} == {9.0}
    boxes = _boxes(ax)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert _texts_inside(ax)
    plain = plot_network(model)
    for node, label in zip(network_ids(model), plain.texts):
        words = label.get_text().replace("\n", " ").removesuffix(" \u2026").split()
        text = model.network.variable(node).text.replace("?", " ").split()
        assert words == text[: len(words)], (node, label.get_text())


def network_ids(model: syncdx.Model) -> list[str]:
    """The nodes in the order plot_network draws their labels."""
    from syncdx.plot import network_layout

    return list(network_layout(model))


def test_short_text_wraps_on_words() -> None:
    """Labels are the first clause wrapped on words; a text too long ends in "…" after a
    whole word, never inside one."""
    from syncdx.plot import short_text

    assert short_text("Is the device on a work network (a school)?", 14, 4) == (
        "Is the device\non a work\nnetwork"
    )
    text = "one two three four five six seven eight nine ten"
    first, last = short_text(text, 10, 2).split("\n")
    assert last.endswith(" \u2026")
    assert len(last) <= 10
    kept = last.removesuffix(" \u2026")
    assert text.startswith(f"{first} {kept} ")


def test_network_in_a_given_axes_scales_its_labels(model: syncdx.Model) -> None:
    """In a smaller Axes of the user's, the labels shrink with it (boxes still apart)."""
    from syncdx.plot import plot_network

    ax = matplotlib.pyplot.subplots(figsize=(6, 6))[1]
    plot_network(model, ax=ax)
    sizes = {float(t.get_fontsize()) for t in ax.texts}
    assert len(sizes) == 1
    assert 4.0 < sizes.pop() < 9.0
    boxes = _boxes(ax)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_network_layers_causes_above_hidden_above_observations(model: syncdx.Model) -> None:
    """The shipped model's causes are drawn above its hidden nodes, which are above the
    observations; with actions, the actions above the causes."""
    from syncdx.plot import network_layout

    layout = network_layout(model, actions=True)
    ys = {role: [layout[v][1] for v in model.network.ids(role)] for role in ("cause", "hidden")}
    observations = [layout[v][1] for v in model.observations]
    assert min(ys["cause"]) > max(ys["hidden"]) > max(observations)
    assert min(layout[a.id][1] for a in model.network.actions if a.fixes) > max(ys["cause"])


def test_network_with_evidence_shows_posteriors(model: syncdx.Model) -> None:
    """With evidence each cause shows its P(present), observed nodes their answer with a thick
    border, the labels are the model's texts and everything fits in the figure."""
    from syncdx.plot import plot_network

    evidence = {"storage_full_alert": "yes"}
    ax = plot_network(model, evidence)
    texts = {t.get_text(): t for t in ax.texts}
    p = model.posterior(evidence)["icloud_storage_full"]
    full = next(t for s, t in texts.items() if s.startswith("iCloud storage"))
    assert f"present {p:.0%}" in full.get_text()
    observed = next(t for s, t in texts.items() if "= yes" in s)
    assert observed.get_bbox_patch().get_linewidth() > 1.0
    assert "storage_full_alert" not in "".join(texts)
    assert "given the evidence" in ax.get_title()
    assert _texts_inside(ax)
    with_ids = plot_network(model, ids=True)
    assert "storage_full_alert" in {t.get_text() for t in with_ids.texts}


def test_explanation_waterfall_has_a_bar_per_finding(model: syncdx.Model) -> None:
    """plot_explanation draws the prior, one bar per finding spanning its weight, and the
    posterior, labelled with the questions' texts."""
    from syncdx.plot import plot_explanation

    evidence = {"storage_full_alert": "yes", "paused_banner": "yes"}
    explanation = model.explain(evidence)
    ax = plot_explanation(explanation)
    bars = ax.patches
    assert len(bars) == len(evidence) + 2
    widths = [b.get_width() for b in bars[1:-1]]
    np.testing.assert_allclose(widths, np.abs(explanation.table["weight"]))
    assert bars[-1].get_x() + bars[-1].get_width() == pytest.approx(explanation.posterior_log_odds)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "prior"
    assert labels[-1] == "posterior"
    assert labels[1].startswith("Does the device warn")
    assert explanation.cause_text.split(" ")[0] in ax.get_title()


def test_recommendation_bars_are_the_gains(model: syncdx.Model) -> None:
    """plot_recommendation draws the top questions' gains, best on top, with their texts."""
    from syncdx.plot import plot_recommendation

    table = model.recommend({"paused_banner": "yes"})
    ax = plot_recommendation(table, top=4)
    widths = [b.get_width() for b in ax.patches]
    np.testing.assert_allclose(widths, table["gain"].head(4).to_numpy()[::-1])
    top_label = ax.get_yticklabels()[-1].get_text()
    assert top_label.startswith(str(table["question"].iloc[0])[:20])
    assert ax.get_title() == "Which question to ask next"
