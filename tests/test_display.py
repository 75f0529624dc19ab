"""Notebook views (`_repr_html_`) and reprs of Step, Session, Model and the batch Summary."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import syncdx
from syncdx import Model, Session, Step
from syncdx.diagnosis._display import percent
from syncdx.network import bundled_network

REPORTS = Path(__file__).parent.parent / "models" / "icloud_sync.reports.csv"


class _Tables(HTMLParser):
    """Every table of an HTML text: its caption, headings and rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []  # caption: str, headings: row, rows: rows
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self._caption = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "headings": [], "rows": []})
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "tr":
            self._row = []
        elif tag == "caption":
            self._caption = True

    def handle_endtag(self, tag: str) -> None:
        table = self.tables[-1] if self.tables else None
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and table is not None:
            key = "headings" if self._row and self.rawdata_is_heading else "rows"
            if key == "headings":
                table["headings"] = self._row
            else:
                table["rows"].append(self._row)
        elif tag == "caption":
            self._caption = False

    rawdata_is_heading = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption and self.tables:
            self.tables[-1]["caption"] = str(self.tables[-1]["caption"]) + data

    def parse_starttag(self, i: int) -> int:  # note whether the row is in <thead>
        if self.rawdata[i : i + 7] == "<thead>":
            self.rawdata_is_heading = True
        elif self.rawdata[i : i + 7] == "<tbody>":
            self.rawdata_is_heading = False
        return super().parse_starttag(i)


def tables(html: str) -> list[dict[str, Any]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _by_caption(html: str, caption: str) -> dict[str, Any]:
    return next(t for t in tables(html) if t["caption"] == caption)


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0, "0%"),
        (0.0004, "<0.1%"),
        (0.0123, "1.2%"),
        (0.12345, "12%"),
        (0.5, "50%"),
        (0.995, "99.5%"),
        (0.99995, ">99.9%"),
        (1.0, "100%"),
        (float("nan"), "n/a"),
    ],
)
def test_percentages_are_rounded_for_people_and_never_falsely_zero_or_certain(
    p: float, shown: str
) -> None:
    """Whole percents from 10% to 99%, one decimal outside, "<0.1%" / ">99.9%" at the ends."""
    assert percent(p) == shown


def test_step_html_lists_why_sorted_with_headings() -> None:
    """A step's why-table has headings and lists the causes most probable first, rounded,
    while the Step keeps the full-precision values in planner order."""
    why = (("a", 0.1234567), ("b", 0.6543), ("c", 0.0321))
    step = Step("question", "q", "Is it q?", 1.0, 12.3456, why, answers=("yes", "no"))
    table = _by_caption(step._repr_html_(), "Why this step")
    assert table["headings"] == ["cause it bears on", "P(present)", ""]
    assert [row[:2] for row in table["rows"]] == [["b", "65%"], ["a", "12%"], ["c", "3.2%"]]
    assert step.why == why
    assert "Ask" in step._repr_html_()
    assert "yes / no" in step._repr_html_()


def test_session_html_has_history_posterior_bars_and_next_step(sync: Model) -> None:
    """A session shows its numbered history, its likeliest causes (sorted, with bars) and the
    planner's next step; once fixed, what fixed it instead of a step."""
    session = Session(sync)
    session.answer("storage_full_alert", "yes")
    session.did("restart_device", fixed=False)
    html = session._repr_html_()
    history = _by_caption(html, "History")
    assert history["headings"] == ["#", "step", "id", "text", "result"]
    assert [row[0:3] + row[4:] for row in history["rows"]] == [
        ["1", "answer", "storage_full_alert", "yes"],
        ["2", "action", "restart_device", "not fixed"],
    ]
    causes = _by_caption(html, "Most probable causes (top 5)")
    posterior = session.posterior
    assert [row[0] for row in causes["rows"]] == list(posterior.index[:5])
    assert causes["rows"][0][2] == percent(float(posterior.iloc[0]))
    assert f"<code>{session.plan().id}</code>" in html
    session.did("free_or_upgrade_storage", fixed=True)
    assert "Fixed by" in session._repr_html_()


def test_model_html_lists_causes_by_prior_with_provenance_and_a_picture(sync: Model) -> None:
    """The model's view lists every cause, likeliest first, with its prior and its sources
    (document titles on hover), folds questions and repairs, and inlines the network as SVG."""
    pytest.importorskip("matplotlib")
    html = sync._repr_html_()
    causes = _by_caption(html, "Causes and their priors")
    assert causes["headings"] == ["cause", "meaning", "prior", "", "source"]
    prior = sync.posterior()
    assert [row[0] for row in causes["rows"]] == list(prior.index)
    variable = sync.network.variable(str(prior.index[0]))
    assert variable.source[0] in causes["rows"][0][4]
    assert variable.assumption in causes["rows"][0][4]
    key = variable.source[0].split(" ", 1)[0]
    assert sync.network.documents[key].replace('"', "&quot;") in html
    assert "<summary>Questions (25)</summary>" in html
    assert "<summary>Repairs (16)</summary>" in html
    assert "<svg" in html
    assert "</svg>" in html


def test_model_html_of_a_bif_network_says_which_states_are_present() -> None:
    """A BIF cause has no text: its meaning names the states that count as present."""
    model = syncdx.load_model(bundled_network("asia"), causes=["tub", "lung"])
    html = model._repr_html_()
    meanings = [row[1] for row in _by_caption(html, "Causes and their priors")["rows"]]
    assert sorted(meanings) == ["lung = yes", "tub = yes"]
    assert repr(model).startswith("<Model 'asia': 2 causes")


def test_summary_reads_as_text_and_html_with_causes_most_frequent_first(tmp_path: Path) -> None:
    """A batch Summary shows rows, errors and the causes that led, most often first, as
    rounded shares; the numbers stay exact in `table()`."""
    summary = syncdx.score_file(REPORTS, tmp_path / "out.csv")
    led = summary.table()
    text = repr(summary)
    assert text.startswith(f"<Summary {summary.rows:,} rows, {summary.errors:,} with an error")
    assert f"top causes: {led.index[0]} {percent(float(led['share'].iloc[0]))}" in text
    table = _by_caption(summary._repr_html_(), "Which cause led")
    assert table["headings"] == ["top cause", "rows", "share", "", "mean P(top cause)"]
    assert [row[0] for row in table["rows"]] == list(led.index)
    assert [int(row[1].replace(",", "")) for row in table["rows"]] == list(led["rows"])
    assert sum(led["rows"]) + summary.errors == summary.rows
