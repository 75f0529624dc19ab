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

MODEL = [
    """# The shipped model: why iMessage / iCloud sync is paused

syncdx ships one model: the causes of a paused or incomplete iMessage / iCloud sync, the
symptoms a person can report, and the repairs that fix them. Its structure comes from three
seed documents; its numbers are judgements, each written down beside it. This notebook reads
it: what is in it, where each part comes from, how it is wired, what it believes before any
answer, and how a first answer moves it.""",
    """import pandas as pd

import syncdx
from syncdx.plot import plot_network, plot_posterior

pd.set_option("display.max_colwidth", None)  # texts, sources and assumptions in full
model = syncdx.load_model()
model""",
    """## The seed documents

Every cause, symptom and repair cites these documents in its `source`, by key and section
(`"000 §2"` is section 2 of document 000).""",
    """network = model.network
pd.Series(dict(network.documents), name="title").rename_axis("key").to_frame()""",
    """## Causes

A cause is a root of the network with a prior: P(present) among people who report a sync
problem (several can be present at once). `source` says which documents support it,
`assumption` how its number was judged: the documents name causes but give no numbers.""",
    """def provenance(items):
    \"\"\"Each variable's or action's text, sources and assumption, by id.\"\"\"
    rows = {
        item.id: {
            "text": item.text,
            "source": ", ".join(item.source),
            "assumption": item.assumption,
        }
        for item in items
    }
    return pd.DataFrame.from_dict(rows, orient="index")


prior = model.posterior()  # no evidence: the priors, likeliest first
causes = provenance(network.variable(cause) for cause in prior.index)
causes.insert(0, "prior", prior.round(3))
causes""",
    """## Symptoms

The observations are what a person can report: a question, its answers, and the minutes it
takes to answer (the planner weighs them).""",
    """symptoms = provenance(network.variable(question) for question in model.observations)
symptoms.insert(1, "answers", [" / ".join(model.states(q)) for q in model.observations])
symptoms.insert(2, "minutes", model.questions["cost"])
symptoms""",
    """## Repairs

Each repair takes some minutes and fixes each cause it targets with a probability. The last
resort also fixes every other cause with some probability, and ends a troubleshooting plan.""",
    """def fixes(action):
    \"\"\"What the action fixes, with the probability, as text.\"\"\"
    listed = [f"{cause} {p:.0%}" for cause, p in action.fixes.items()]
    rest = [f"any other cause {action.fixes_rest:.0%}"] if action.last_resort else []
    return ", ".join(listed + rest)


repairs = provenance(network.actions)
repairs.insert(1, "minutes", [action.cost for action in network.actions])
repairs.insert(2, "fixes", [fixes(action) for action in network.actions])
repairs""",
    """## How it is wired

Causes on top, then two hidden nodes (this device cannot reach iCloud at all; it does not sync
in the background), then the questions. The symptoms that many causes share hang off the hidden
nodes rather than off every cause, which keeps inference small and fast.""",
    """plot_network(model);""",
    """## What the model believes before any answer""",
    """plot_posterior(prior, top=None, title="Priors: P(cause present) before any answer");""",
    """## A first report

Evidence maps question ids to answers (case-insensitive; yes/no also as true/false, 1/0,
y/n); a question left out is not observed. Here: Messages shows the paused banner, and the
internet does not work.""",
    """evidence = {"paused_banner": "yes", "internet_works": "no"}
posterior = model.posterior(evidence)
plot_posterior(posterior, prior=prior, title="Given a paused banner and no internet");""",
    """posterior.head().round(3)""",
    """### The network given the evidence

Each cause shows its posterior as a shade, each other node its likeliest state, and the
answered questions have a thick border.""",
    """plot_network(model, evidence);""",
    """### Questions not yet asked

`marginals` gives every state's probability for any node: what the person would likely answer
next.""",
    """model.marginals(evidence, ["weak_or_switching_network", "system_status"])""",
    """### Uncertain answers

A person who *thinks* the network is weak gives soft (likelihood) evidence; "don't know" is
simply no evidence.""",
    """probably = {"weak_or_switching_network": {"yes": 0.8, "no": 0.2}}
comparison = pd.DataFrame(
    {
        "no answer": posterior,
        "probably weak": model.posterior(evidence, soft=probably),
        "weak": model.posterior({**evidence, "weak_or_switching_network": "yes"}),
    }
)
comparison.sort_values("weak", ascending=False).head(4).round(3)""",
    """## Next

`02_diagnose` follows one report to a fix; `03_batch` scores a file of reports;
`04_any_network` does the same with classic networks loaded from BIF files.""",
]

DIAGNOSE = [
    """# Diagnosing one report, step by step

A person reports that Messages says "Syncing with iCloud paused", that the device warns iCloud
storage is full, and that Photos and iCloud Drive are failing too. What does the model make of
it, which answers drove that, what should they check next, and what should they do?""",
    """import numpy as np
import pandas as pd

import syncdx
from syncdx.network import bundled_network
from syncdx.plot import plot_explanation, plot_network, plot_posterior, plot_recommendation

model = syncdx.load_model()
report = {"paused_banner": "yes", "storage_full_alert": "yes", "other_icloud_sync_failing": "yes"}
posterior = model.posterior(report)
plot_posterior(posterior, prior=model.posterior(), title="Given the report");""",
    """plot_network(model, report);""",
    """## Which answers drove the diagnosis?

`model.explain` gives each answer's weight of evidence on the likeliest cause: how many bits it
moved the cause's log-odds. The sequential method weighs each answer given those before it, in
the order given; the waterfall goes from the prior to the posterior.""",
    """explanation = model.explain(report)
plot_explanation(explanation)
explanation""",
    """### Shapley weights

The Shapley method averages each answer's weight over every order in which the answers
could have come, so no answer gets credit for coming first. Both add up exactly to the change
in log-odds.""",
    """shapley = model.explain(report, method="shapley")
print(f"sequential {explanation.total:+.6f} bits, Shapley {shapley.total:+.6f} bits")
shapley""",
    """## A surprising report

"The internet does not work", yet the network is not weak and Photos sync fine. Each answer is
possible, but together they are unusual: Hugin's conflict measure log2 prod P(e_i) / P(e) is
positive, and the answer least probable given the others (`p_given_others`) is the one to
re-check. A rare case fits together; a wrong answer tends not to.""",
    """surprising = {
    "paused_banner": "yes",
    "internet_works": "no",
    "weak_or_switching_network": "no",
    "other_icloud_sync_failing": "no",
}
conflict = model.explain(surprising).conflict
print(conflict.message)
conflict.table.round(3)""",
    """### A report that fits together

The first report's answers share a cause, so they are more probable together than apart: a
negative conflict.""",
    """print(explanation.conflict.message)""",
    """### When answers are impossible

The sync model keeps a small leak on every link, so no set of its answers is strictly
impossible. In the classic *asia* network `either` is a logical OR of `tub` and `lung`: answers
that break it are an error naming a smallest set of answers to re-check, never a NaN.""",
    """asia = syncdx.load_model(bundled_network("asia"))
try:
    asia.posterior({"smoke": "yes", "lung": "yes", "either": "no", "xray": "yes"})
except syncdx.ImpossibleEvidenceError as error:
    print(error)""",
    """## What to ask next

`recommend` ranks the unanswered questions by expected information gain about the causes
(bits), with the probability of each answer.""",
    """table = model.recommend(report, k=8)
plot_recommendation(table)
table.round(3)""",
    """### Information per minute

Ranked by bits per minute, quick checks come first:""",
    """plot_recommendation(model.recommend(report, by="gain_per_cost"), by="gain_per_minute");""",
    """## What to do next

The planner picks the step, a question or a repair, with the lowest expected minutes to a fix,
and says which causes it targets.""",
    """model.plan(report)""",
    """## A troubleshooting session

A `Session` records answers and repairs; "did not fix it" is evidence too. To watch the planner
on a case whose truth is known, draw one from the model itself with `model.sample` (seed 2;
another seed gives another case): the causes present (`cause_<id>` columns) and every answer
the person would give. The planner sees only the answers to the questions it asks; a repair
fixes each present cause it targets with the probability the model gives it, drawn from a
seeded generator. The problem is fixed when no cause is left.""",
    """cases = model.sample(20, seed=2)
case = cases[cases["confirmed_cause"].notna()].iloc[0]  # a person with a problem
still_present = {cause for cause in model.causes if case[f"cause_{cause}"] == 1}
actions = {action.id: action for action in model.network.actions}
rng = np.random.default_rng(2)


def repair(action_id):
    \"\"\"Try the repair on the case; True if no cause is left.\"\"\"
    action = actions[action_id]
    rest = action.fixes_rest if action.last_resort else 0.0
    for cause in sorted(still_present):
        if rng.random() < action.fixes.get(cause, rest):
            still_present.discard(cause)
    return not still_present


print("causes present in the case:", ", ".join(sorted(still_present)))""",
    """session = syncdx.Session(model)
while not session.resolved:
    step = session.plan()
    if step.kind == "question":
        session.answer(step.id, case[step.id])
    else:
        session.did(step.id, fixed=repair(step.id))
    if step.last_resort:
        break
session""",
    """### What the session did

The session's display shows every step with its reply, the posterior, and what it would do
next. Its explanation weighs the answers in the order they were asked, failed repairs
included:""",
    """session.explain()""",
    """### Keeping a session

It serialises to JSON, so an app can keep a diagnosis across requests; loading replays and
re-validates every entry.""",
    """restored = syncdx.Session.from_json(model, session.to_json())
pd.DataFrame(restored.history)""",
    """## Interactive

In a running Jupyter, `syncdx.widget(model)` is a live session: every question as a drop-down
(unknown by default), repairs to mark "tried, not fixed", the posterior bars, the next question
and step, and the explanation of the top cause, updating on each answer. It needs
`pip install 'syncdx[notebook]'`; a static page (such as GitHub's) shows no widget.""",
    """syncdx.widget(model)""",
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

pd.set_option("display.max_colwidth", None)  # notes and error messages in full
model = syncdx.load_model()
# 400 sample reports drawn from the model; they ship beside it, wherever syncdx is installed
reports = syncdx.shipped_model_path().with_name("icloud_sync.reports.csv")
out = Path(tempfile.mkdtemp()) / "scores.csv"
summary = syncdx.score_file(reports, out, model=model)
summary""",
    """scores = pd.read_csv(out)
scores[["ticket", "top_cause", "top_probability", "top_2", "log_evidence", "error"]].head()""",
    """## Bad rows keep their place""",
    """bad = scores["error"].fillna("").ne("")  # an empty cell reads back as NaN
scores.loc[bad, ["ticket", "error"]]""",
    """## Which causes lead, and how sure the model is

`top_probability` is P(top cause present) given the report. A report is *undetermined* when
its top cause is under 1.5 times its prior: the answers did not single a cause out.""",
    """good = scores[~bad].copy()
prior = model.posterior()
good["lift"] = good["top_probability"] / good["top_cause"].map(prior)
good["answers"] = good[list(model.observations)].notna().sum(axis=1)
good["undetermined"] = good["lift"] < 1.5
print(f"{good['undetermined'].sum()} of {len(good)} reports undetermined")
counts = pd.crosstab(good["top_cause"], good["undetermined"])
counts.columns = ["determined", "undetermined"]
counts.sort_values("determined", ascending=False)""",
    """fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
shown = counts.loc[counts.sum(axis=1).sort_values().index].tail(8)
shown.plot.barh(stacked=True, ax=left, color=["#3b75af", "#bbbbbb"])
left.set_xlabel("reports")
left.set_ylabel("")
left.set_title("Top cause of each report")
for undetermined, colour in [(False, "#3b75af"), (True, "#bbbbbb")]:
    chosen = good[good["undetermined"] == undetermined]
    right.hist(chosen["top_probability"], bins=20, range=(0, 1), color=colour, alpha=0.9)
right.legend(["determined", "undetermined"])
right.set_xlabel("P(top cause present)")
right.set_ylabel("reports")
right.set_title("How sure the model is")
plt.tight_layout()""",
    """## Undetermined reports

Two kinds: answers that every cause explains about as well, so the commonest cause (a
transient stall, with few symptoms of its own) stays on top near its prior; and answers that
argue against every cause, so even the top cause falls below its prior (lift under 1, first
below). Both are reports to ask more about: `score_file(..., next_question=True)` adds the
best next question to every row.""",
    """undetermined = good[good["undetermined"]].sort_values("lift")
undetermined[["ticket", "answers", "top_cause", "top_probability", "lift", "customer_note"]].head(
    8
).round(3)""",
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

ANY_NETWORK = [
    """# Any discrete network: win95pts, alarm, asia

A BIF network loads as a model; `causes=[...]` names the hypotheses to diagnose (by default the
roots). Each is drawn, diagnosed and explained like the shipped model.""",
    """import syncdx
from syncdx.network import bundled_network
from syncdx.plot import plot_explanation, plot_network

printer = syncdx.load_model(
    bundled_network("win95pts"),
    causes=["AppOK", "DataFile", "PrtCbl", "PrtDriver", "NetOK", "PrtPaper", "TnrSpply"],
)
printer""",
    """report = {"Problem1": "No_Output", "PrtStatPaper": "No_Error"}
printer.posterior(report).head()""",
    """plot_network(printer, report);""",
    """explanation = printer.explain(report)
ax = plot_explanation(explanation)
explanation""",
    """## alarm: the intensive-care monitor""",
    """alarm = syncdx.load_model(
    bundled_network("alarm"), causes=["HYPOVOLEMIA", "LVFAILURE", "ANAPHYLAXIS", "PULMEMBOLUS"]
)
alarm.posterior({"BP": "LOW", "CVP": "HIGH"})""",
    """## asia: diseases as causes, not smoking and travel""",
    """asia = syncdx.load_model(bundled_network("asia"), causes=["tub", "lung", "bronc"])
asia.explain({"xray": "yes", "dysp": "yes", "smoke": "yes"}, method="shapley")""",
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
`confirmed_cause` gives EM less to go on: each case is then read as having that one cause and
no other, which is exact when cases have one cause each but pulls the priors down when several
causes often occur together (here, in over a third of the cases). Record every cause checked where
you can, and compare held-out scores before adopting a fit.""",
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
    "01_model.ipynb": MODEL,
    "02_diagnose.ipynb": DIAGNOSE,
    "03_batch.ipynb": BATCH,
    "04_any_network.ipynb": ANY_NETWORK,
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
