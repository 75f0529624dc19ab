"""Write the notebooks from their cell sources, so they stay reviewable as plain Python.

Run: python notebooks/build.py. It writes every notebook and executes it in a fresh kernel, so
each is committed with its outputs (readers on GitHub see the results); tests/test_notebooks.py
checks that the cells match these sources and executes them again. Cells that start with "#"
are markdown; the others are code.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent

QUICKSTART = [
    """# syncdx quick start

Load the shipped iMessage / iCloud sync model, ask it what is likely wrong, and see how answers
move the diagnosis.""",
    """import pandas as pd

import syncdx
from syncdx.network import bundled_network
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
    """import warnings

# pgmpy's progress bars want ipywidgets in Jupyter; syncdx shows none, so skip the notice
warnings.filterwarnings("ignore", message="IProgress not found")
asia = syncdx.load_model(bundled_network("asia"))
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

TROUBLESHOOTING = [
    """# What to ask, what to do

The recommender ranks questions by how much they would tell about the causes; the planner picks
the step (a question or a repair) with the lowest expected cost of getting the problem fixed.""",
    """import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import syncdx

pd.set_option("display.max_colwidth", None)  # question texts and answers in full
model = syncdx.load_model()
evidence = {"paused_banner": "yes"}

table = model.recommend(evidence, k=8)
table.round(3)  # one column per answer: P(answer = state | evidence)""",
    """## Which findings drove the diagnosis?

`model.explain` gives each finding's weight of evidence in bits on the likeliest cause: in the
order given (sequential), or averaged over every order (Shapley). Both add up exactly to the
change in log-odds. A positive conflict flags answers that are unusual together.""",
    """from syncdx.plot import plot_explanation, plot_network

report = {"paused_banner": "yes", "storage_full_alert": "yes", "other_icloud_sync_failing": "no"}
explanation = model.explain(report)
plot_explanation(explanation)
explanation""",
    """model.explain(report, method="shapley")""",
    """plot_network(model, report);""",
    """## Information per minute

Ranking by bits per minute favours quick checks: a glance at a setting before a long test.""",
    """ranking = model.recommend(evidence, by="gain_per_cost")
ax = ranking.head(10)[::-1].plot.barh(y="gain_per_minute", legend=False, figsize=(7, 4))
ax.set_xlabel("expected information gain per minute (bits)")
plt.tight_layout()""",
    """## The repair actions the planner works with""",
    """model.actions""",
    """## A troubleshooting session

A `Session` records answers and repairs; "did not fix it" is evidence too. To watch the planner
on a case whose truth is known, draw one from the model itself (seed 2; another seed gives
another case): the causes present, and every answer the person would give. The planner sees
only the answers to the questions it asks; a repair fixes each present cause it targets with
the probability the model gives it, drawn from the same generator. The problem is fixed when
no cause is left.""",
    """from syncdx.diagnosis._repairs import find_action, fix_probabilities
from syncdx.network import sample

network = model.network
rng = np.random.default_rng(2)


def causes_present(case):
    return [c for c in model.causes if case[c] != network.variables[network.index[c]].normal]


rows = sample(network, 100, rng)
cases = [{v.id: v.states[i] for v, i in zip(network.variables, row)} for row in rows]
case = next(c for c in cases if causes_present(c))  # a person with a problem
still_present = set(causes_present(case))


def repair(action):
    # try `action` on the case; True if no cause is left
    fixes = fix_probabilities(find_action(network, action), model.causes)
    for cause, q in zip(model.causes, fixes):
        if cause in still_present and rng.random() < q:
            still_present.discard(cause)
    return not still_present""",
    """session = syncdx.Session(model)
while not session.resolved:
    step = session.plan()
    if step.kind == "question":
        reply = case[step.id]
        session.answer(step.id, reply)
    else:
        reply = "fixed" if repair(step.id) else "not fixed"
        session.did(step.id, fixed=reply == "fixed")
    why = ", ".join(f"{cause} {p:.0%}" for cause, p in step.why)
    print(f"{step.id:26} {reply:10} {step.expected_cost:4.1f} min to repair; why: {why}")
    if step.last_resort:
        break
print()
print("causes present in the case:", ", ".join(causes_present(case)))""",
    """### Reading the steps

Each line is one step: the question or repair the planner chose, the reply, the expected
minutes to a fix from there, and the causes it targeted with their probability at the time.
The session's posterior at the end, with every answer and failed repair taken into account:""",
    """session.posterior.head(3).round(3)""",
    """### Keeping a session

It serialises to JSON, so an app can keep a diagnosis across requests; loading replays and
re-validates every entry.""",
    """restored = syncdx.Session.from_json(model, session.to_json())
pd.DataFrame(restored.history)""",
]

BATCH = [
    """# Scoring a file of reports

`score_file` streams a CSV or Parquet file of symptom reports through the model: every row
kept, in order, with the probability of each cause, the likeliest causes, how plausible the
answers are, and what is wrong with a bad row.""",
    """import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import syncdx

pd.set_option("display.max_colwidth", None)  # error messages in full
model = syncdx.load_model()
# 400 sample reports drawn from the model; they ship beside it, wherever syncdx is installed
reports = syncdx.shipped_model_path().with_name("icloud_sync.reports.csv")
out = Path(tempfile.mkdtemp()) / "scores.csv"
summary = syncdx.score_file(reports, out, model=model)
print(f"{summary.rows} rows in {summary.seconds:.2f} s, {summary.errors} with errors")""",
    """scores = pd.read_csv(out)
scores[["ticket", "top_cause", "top_probability", "top_2", "log_evidence", "error"]].head()""",
    """## Bad rows keep their place""",
    """bad = scores["error"].fillna("").ne("")  # an empty cell reads back as NaN
scores.loc[bad, ["ticket", "error"]]""",
    """## Which causes lead, and how sure the model is""",
    """good = scores[~bad]
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
good["top_cause"].value_counts().head(8)[::-1].plot.barh(ax=left)
left.set_xlabel("reports")
left.set_title("top cause")
good["log_evidence"].plot.hist(bins=30, ax=right)
right.set_xlabel("log P(answers)")
right.set_title("log P(answers), lower with more answers")
plt.tight_layout()""",
    """## The same from a DataFrame

`model.score` works on a DataFrame already in memory.""",
    """frame = pd.DataFrame(
    {
        "ticket": ["T-1", "T-2", "T-3"],
        "paused_banner": ["yes", "yes", "no"],
        "internet_works": ["no", "yes", ""],
        "storage_full_alert": ["", "yes", "perhaps"],
    }
)
model.score(frame, top=2)[["ticket", "top_1", "top_2", "top_probability", "error"]]""",
]

LEARNING = [
    """# Learning from resolved cases

Every number in the shipped model is an expert's judgement. Here a made-up "world" differs from
that judgement in three numbers; we draw resolved cases from it, score the expert model on
them, fit the model to the cases (EM, the expert's numbers as a prior) and score it again.""",
    """import tempfile
from pathlib import Path

import yaml

import syncdx

expert = syncdx.load_model()
folder = Path(tempfile.mkdtemp())
expert.save(folder / "expert.yaml")  # the model as a YAML document, numbers and sources kept""",
    """## A world that differs from the expert

Two causes are four times commoner than the expert thought, and the first symptom's first
link is half as strong.""",
    """document = yaml.safe_load((folder / "expert.yaml").read_text())
for cause in document["causes"]:
    if cause["id"] in ("imessage_off", "wrong_date_time"):
        cause["prior"] = round(4 * cause["prior"], 4)
symptom = document["observations"][0]
parent, link = next(iter(symptom["noisy_or"]["links"].items()))
link["p"] = round(link["p"] / 2, 4)
print(f"{symptom['id']}.links.{parent}: {link['p']}")
(folder / "truth.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
truth = syncdx.load_model(folder / "truth.yaml")""",
    """## Resolved cases

Each case holds what was reported (30% of answers blank here), whether each cause was found
present (`cause_<id>`, 1/0) and the cause confirmed. A team that records only
`confirmed_cause` gives EM much less to go on: on these cases, fitting on `confirmed_cause`
alone moved two priors the wrong way (a cause made common but weakly expressed explains the
answers as well), so record every cause checked where you can, and compare held-out scores
before adopting a fit.""",
    """train = truth.sample(5000, seed=1, missing=0.3)
test = truth.sample(2000, seed=2, missing=0.3)  # held out: never fitted on
train.head()""",
    """## The expert model on the held-out cases""",
    """syncdx.evaluate(expert, test, replay=100)""",
    """## Fit, and score again

Each expert number is a prior worth 20 equivalent cases (`confidence`); noisy-OR links and
leaks are learned as such.""",
    """fitted = expert.fit(train, confidence=20)
print(syncdx.evaluate(expert, test, replay=0).headline)
print(syncdx.evaluate(fitted, test, replay=0).headline)""",
    """syncdx.evaluate(fitted, test, replay=100)""",
    """## What moved

The numbers that moved most, with the expected number of cases behind each. The three numbers
the world changed should lead.""",
    """fitted.learned.changes.head(8)""",
    """moved = ["imessage_off.prior", "wrong_date_time.prior", f"{symptom['id']}.links.{parent}"]
world = {f"{c['id']}.prior": c["prior"] for c in document["causes"]}
world[moved[2]] = link["p"]
table = fitted.learned.changes.set_index("parameter").loc[moved, ["expert", "fitted", "cases"]]
table.assign(world=[world[m] for m in moved])""",
    """## The fitted file

The fitted model is written in the same format, each learned number with where it came from,
on how many cases, and a 95% interval:""",
    """fitted.save(folder / "fitted.yaml")
saved = yaml.safe_load((folder / "fitted.yaml").read_text())
next(c for c in saved["causes"] if c["id"] == "imessage_off")""",
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_troubleshooting.ipynb": TROUBLESHOOTING,
    "03_batch_scoring.ipynb": BATCH,
    "05_learning.ipynb": LEARNING,
}


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


def execute(nb: nbformat.NotebookNode) -> None:
    """Run every cell in a fresh kernel started in this folder, keeping the outputs."""
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": HERE}},
    )
    client.execute()


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = notebook(cells)
        execute(nb)
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    main()
