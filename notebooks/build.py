"""Write the notebooks from their cell sources, so they stay reviewable as plain Python.

Run: python notebooks/build.py, then execute them (tests/test_notebooks.py does, in CI).
Cells that start with "#" are markdown; the others are code.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

QUICKSTART = [
    """# syncdx quick start

Load the shipped iMessage / iCloud sync model, ask it what is likely wrong, and see how answers
move the diagnosis.""",
    """import pandas as pd

import syncdx
from syncdx.interop import bundled_network
from syncdx.plot import plot_posterior, plot_trajectory

model = syncdx.load_model()
model""",
    """## What the evidence says

Evidence maps observation ids to answers (case-insensitive; yes/no also as true/false, 1/0,
y/n). A blank answer means *not observed*.""",
    """evidence = {"paused_banner": "yes", "internet_works": "no"}
posterior = model.posterior(evidence)
posterior.head()""",
    """plot_posterior(posterior, prior=model.posterior());""",
    """### What to expect

`marginals` gives every state's probability for any node, including questions not yet asked.""",
    """model.marginals(evidence, ["weak_or_switching_network", "system_status"])""",
    """## Uncertain answers

A person who *thinks* the network is weak gives soft (likelihood) evidence; "don't know" is
simply no evidence.""",
    """probably = {"weak_or_switching_network": {"yes": 0.8, "no": 0.2}}
comparison = pd.DataFrame(
    {
        "no answer": model.posterior(evidence),
        "probably weak": model.posterior(evidence, soft=probably),
        "weak": model.posterior({**evidence, "weak_or_switching_network": "yes"}),
    }
)
comparison.sort_values("weak", ascending=False).head(4).round(3)""",
    """## A diagnosis, answer by answer""",
    """answers = [
    ("paused_banner", "yes"),
    ("internet_works", "yes"),
    ("other_icloud_sync_failing", "yes"),
    ("storage_full_alert", "no"),
    ("system_status", "icloud_issue"),
]
steps, seen = {"start": model.posterior()}, {}
for node, state in answers:
    seen[node] = state
    steps[f"{node}={state}"] = model.posterior(seen)
plot_trajectory(steps);""",
    """## Contradictions are named, never NaN

The sync model keeps a small leak on every link, so no set of its answers is strictly
impossible. In the classic *asia* network `either` is a logical OR of `tub` and `lung`:
answers that break it are an error naming a smallest set of answers to re-check.""",
    """asia = syncdx.load_model(bundled_network("asia"))
try:
    asia.posterior({"smoke": "yes", "lung": "yes", "either": "no", "xray": "yes"})
except syncdx.ImpossibleEvidenceError as error:
    print(error)""",
    """## Any discrete network

BIF and XMLBIF files load the same way (root nodes become causes). pgmpy ships classic
networks; here the Windows 95 printer troubleshooter.""",
    """printer = syncdx.load_model(bundled_network("win95pts"))
printer.posterior({"Problem1": "No_Output", "PrtOn": "Yes"}).head()""",
]

NOTEBOOKS = {"01_quickstart.ipynb": QUICKSTART}


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    """A notebook of the given cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source in cells:
        make = (
            nbformat.v4.new_markdown_cell if source.startswith("#") else nbformat.v4.new_code_cell
        )
        nb.cells.append(make(source))
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(notebook(cells), HERE / name)


if __name__ == "__main__":
    main()
