"""Simulated troubleshooting: the planner against the seed documents' checklist and a random order.

Faults are drawn from the model's priors (one cause present, chosen in proportion to the priors;
then a second scenario with two distinct causes present), the observations are sampled from the
model given the faults, and each case is troubleshot by three policies:

- planner: `Model.plan` at every step (questions reveal the sampled observation; a failed action
  is reported as "not fixed");
- checklist: the tips of documents 000 and 002 in their order, then the fixes of 001, then Apple
  Support (CHECKLIST below): each tip checks its question(s) and does its fix if they show the
  problem; tips that only act (restart, send a message, toggle) act unconditionally;
- random: the repair actions in a random order, then Apple Support.

An action fixes each present cause it targets with its success probability (sampled, the causes
in name order so that a seed reproduces a run); a case ends once no cause is left, or when Apple
Support has been contacted (it fixes the rest with its probability; the case ends either way).
Reports mean and 90th percentile cost (minutes) and steps, and the median time of a `plan()` call.
`--exact` also gives each deterministic policy's expected cost under the same distribution with
no sampling noise: its decision tree (every answer, every fix outcome) enumerated and weighted,
for both scenarios and for one or two causes in the proportions of the model's own priors;
`--by-cause` breaks each down over the cases each cause is in.
Run: python -m benchmarks.bench_troubleshoot [--cases 2000] [--seeds 0,1,2] [--exact [--by-cause]]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

import syncdx
from syncdx import Model
from syncdx.diagnosis._faults import FaultSets, clamp_causes, fault_sets
from syncdx.diagnosis._likelihoods import case_likelihoods
from syncdx.diagnosis._repairs import fix_probabilities
from syncdx.network._network import FloatArray, Network
from syncdx.network._sampling import sample

Gate = tuple[tuple[str, tuple[str, ...]], ...]
Policy = Callable[[dict[str, str], list[str], np.random.Generator], Iterator[tuple[str, str]]]
Path = tuple[tuple[str, str, str], ...]  # (kind, id, answer or "") of each step so far
LAST_RESORT = "contact_apple_support"

#: The documents' own order, each tip as (repair action, the checks that call for it). A tip with
#: no checks is done unconditionally; a tip whose checks all come back fine is skipped. Steps
#: already taken for an earlier tip are not repeated.
CHECKLIST: tuple[tuple[str, Gate], ...] = (
    # 000 tip 1 "Verify Network Connectivity": switch network or reset the router if unstable
    ("switch_network", (("internet_works", ("no",)), ("weak_or_switching_network", ("yes",)))),
    # 000 tip 2 "Check iCloud Storage": manage data or upgrade the plan
    ("free_or_upgrade_storage", (("storage_full_alert", ("yes",)),)),
    # 000 tip 3 "Update Software"
    ("update_software", (("update_available", ("yes",)),)),
    # 000 tip 4 "Review Apple ID Settings": password up to date, two-factor working
    ("sign_out_and_in", (("password_prompt", ("yes",)),)),
    ("complete_two_factor", (("verification_code_prompt", ("yes",)),)),
    # 000 tip 5 "Disable Low Power Mode"
    ("exit_low_power_mode", (("low_power_mode_on", ("yes",)),)),
    # 000 tip 6 "Enable Background App Refresh"
    ("enable_background_refresh", (("background_refresh_enabled", ("no",)),)),
    # 000 tip 7 "Reset Date and Time Settings": enable automatic date and time
    ("set_time_automatically", (("time_set_automatically", ("no",)), ("clock_off", ("yes",)))),
    # 002 tip 1 (network) repeats 000 tip 1; 002 tip 2 "Check iCloud System Status"
    ("wait_for_apple", (("system_status", ("icloud_issue", "imessage_issue")),)),
    # 002 tip 3 (storage) repeats 000 tip 2; 002 tip 4 "Examine iCloud Service Toggles"
    ("enable_messages_in_icloud", (("messages_in_icloud_on", ("no",)),)),
    # 002 tip 5 "Restart Devices"
    ("restart_device", ()),
    # 002 tip 6 (update) repeats 000 tip 3; 002 tip 7 "Review Apple ID Login" on all devices
    ("use_same_apple_id", (("same_apple_id_everywhere", ("no",)),)),
    # 001, in its order: Send & Receive addresses, send a message, toggle iMessage, sign out/in
    ("enable_all_addresses", (("all_addresses_checked", ("no",)),)),
    ("send_message_from_device", ()),
    ("toggle_imessage", ()),
    ("sign_out_and_in", ()),
    # 002 §8: contact Apple Support
    (LAST_RESORT, ()),
)


@dataclass(frozen=True, slots=True)
class Case:
    """One simulated problem: the causes present and every observation's sampled answer."""

    causes: frozenset[str]
    answers: dict[str, str]


def cause_priors(network: Network) -> FloatArray:
    """P(present) of each cause, in model order: any state but the cause's normal one."""
    variables = [network.variable(c) for c in network.ids("cause")]
    return np.array(
        [1.0 - network.cpts[network.index[v.id]][v.states.index(v.normal)] for v in variables]
    )


def draw_cases(network: Network, n: int, faults: int, rng: np.random.Generator) -> list[Case]:
    """`n` cases with `faults` distinct causes present, drawn in proportion to the priors."""
    causes = network.ids("cause")
    priors = cause_priors(network)
    chosen = [
        rng.choice(len(causes), size=faults, replace=False, p=priors / priors.sum())
        for _ in range(n)
    ]
    fixed = {
        c: np.array([int(k in picks) for picks in chosen], dtype=np.int64)
        for k, c in enumerate(causes)
    }
    states = sample(network, n, rng, fixed=fixed)
    observations = network.ids("observation")
    return [
        Case(
            frozenset(causes[k] for k in picks),
            {o: network.variable(o).states[states[row, network.index[o]]] for o in observations},
        )
        for row, picks in enumerate(chosen)
    ]


# -- policies: generators of (kind, id) that read the answers and failures so far ----------------
def planner(model: Model, timings: list[float] | None = None) -> Policy:
    """`Model.plan` at every step (memoised on the evidence and failures so far); the seconds
    of each call that was not memoised go to `timings`."""
    cache: dict[tuple[object, ...], tuple[str, str]] = {}

    def policy(
        evidence: dict[str, str], failed: list[str], rng: np.random.Generator
    ) -> Iterator[tuple[str, str]]:
        while True:
            key = (tuple(sorted(evidence.items())), tuple(sorted(failed)))
            if key not in cache:
                start = time.perf_counter()
                step = model.plan(evidence, failed=failed)
                if timings is not None:
                    timings.append(time.perf_counter() - start)
                cache[key] = (step.kind, step.id)
            yield cache[key]

    return policy


def checklist(
    evidence: dict[str, str], failed: list[str], rng: np.random.Generator
) -> Iterator[tuple[str, str]]:
    """The documents' checklist (CHECKLIST), skipping steps already taken."""
    done: set[str] = set()
    for action, gate in CHECKLIST:
        if action in done:
            continue
        for question, problems in gate:
            if question not in evidence:
                yield ("question", question)
            if evidence[question] in problems:
                break
        else:
            if gate:
                continue
        done.add(action)
        yield ("action", action)


def random_order(model: Model) -> Policy:
    """Every repair action in a random order, then the last resort."""
    actions = [a.id for a in model.network.actions if not a.last_resort]

    def policy(
        evidence: dict[str, str], failed: list[str], rng: np.random.Generator
    ) -> Iterator[tuple[str, str]]:
        for k in rng.permutation(len(actions)):
            yield ("action", actions[k])
        yield ("action", LAST_RESORT)

    return policy


# -- simulation -----------------------------------------------------------------------------------
def run_case(
    network: Network, policy: Policy, case: Case, rng: np.random.Generator
) -> tuple[float, int]:
    """Troubleshoot one case: (minutes spent, steps taken)."""
    evidence: dict[str, str] = {}
    failed: list[str] = []
    present, cost, steps = set(case.causes), 0.0, 0
    for kind, node in policy(evidence, failed, rng):
        steps += 1
        if kind == "question":
            evidence[node] = case.answers[node]
            cost += network.variable(node).cost or 0.0
            continue
        action = network.action(node)
        cost += action.cost
        for cause in sorted(present):  # a fixed order: draws do not depend on string hashing
            q = action.fixes.get(cause, action.fixes_rest if action.last_resort else 0.0)
            if rng.random() < q:
                present.discard(cause)
        if not present or action.last_resort:
            break
        failed.append(node)
    return cost, steps


def simulate(
    model: Model, policies: dict[str, Policy], cases: list[Case], seed: int
) -> dict[str, np.ndarray]:
    """(cases, 2) cost and steps per case, for each policy (the same random stream per policy)."""
    out = {}
    for name, policy in policies.items():
        rng = np.random.default_rng(seed)
        out[name] = np.array([run_case(model.network, policy, case, rng) for case in cases])
    return out


# -- exact expected costs: the decision tree of a deterministic policy, enumerated ---------------
def fault_prior(network: Network, faults: int | None) -> tuple[FaultSets, FloatArray]:
    """P(the faults are exactly S) for every set of 1 or 2 causes, as `draw_cases` draws them:
    in proportion to the priors, the second without replacement. `faults=None` weighs the sets
    as the model does, P(exactly the causes of S | one or two causes present)."""
    causes = network.ids("cause")
    present = cause_priors(network)
    share = present / present.sum()
    sets = fault_sets(len(causes), 2)
    if faults is None:
        inside = sets.indicator
        prior = np.exp(inside @ np.log(present) + (1.0 - inside) @ np.log1p(-present))
        return sets, prior / prior.sum()
    prior = np.zeros(sets.size)
    for h, row in enumerate(sets.members.tolist()):
        i, j = row
        if faults == 1 and j == len(causes):
            prior[h] = share[i]
        elif faults == 2 and j < len(causes):
            prior[h] = share[i] * share[j] / (1 - share[i]) + share[j] * share[i] / (1 - share[j])
    return sets, prior


@dataclass(frozen=True, slots=True)
class Costs:
    """A policy's expected cost by fault set: `minutes[h]` is P(set h) * its expected minutes,
    `support[h]` P(set h, and the case ends by contacting support)."""

    minutes: FloatArray
    support: FloatArray


class Tree:
    """Expected cost of a deterministic policy for cases with `faults` causes (None: one or two,
    as the model weighs them; see `fault_prior`), by enumeration.

    Paths less probable than `cutoff` are left out; `pruned` adds up their probability.
    """

    def __init__(self, model: Model, faults: int | None, cutoff: float = 1e-12) -> None:
        self.model, self.network = model, model.network
        self.sets, self.prior = fault_prior(model.network, faults)
        self.cutoff, self.pruned = cutoff, 0.0
        self.answers: dict[tuple[object, ...], FloatArray] = {}

    def cost(self, policy: Policy) -> float:
        """sum over the steps of P(the step is reached) * its cost."""
        return float(self.costs(policy).minutes.sum())

    def costs(self, policy: Policy) -> Costs:
        """The expected cost of `policy`, fault set by fault set."""
        support = np.zeros(self.sets.size)
        minutes = self._visit(policy, (), self.prior, np.ones(len(self.model.causes)), support)
        return Costs(minutes, support)

    def _visit(
        self, policy: Policy, path: Path, weights: FloatArray, stay: FloatArray, support: FloatArray
    ) -> FloatArray:
        """(sets,) P(set, this path) * the cost from here; adds the last resort's reach to
        `support`."""
        gone = np.prod(np.where(self.sets.indicator > 0, 1.0 - stay, 1.0), axis=1)
        reach = weights * (1.0 - gone)  # P(set, this path, and the problem persists)
        if reach.sum() < self.cutoff:
            self.pruned += float(reach.sum())
            return np.zeros(self.sets.size)
        kind, node = replay(policy, path)
        if kind == "question":
            total = reach * (self.network.variable(node).cost or 0.0)
            probabilities = self._answers(path, node)
            for k, state in enumerate(self.network.variable(node).states):
                then = (*path, (kind, node, state))
                total += self._visit(policy, then, weights * probabilities[:, k], stay, support)
            return np.asarray(total)
        action = self.network.action(node)
        if action.last_resort:
            support += reach
            return np.asarray(reach * action.cost)
        after = stay * (1.0 - np.array(fix_probabilities(action, self.model.causes)))
        then = (*path, (kind, node, ""))
        return np.asarray(reach * action.cost + self._visit(policy, then, weights, after, support))

    def _answers(self, path: Path, question: str) -> FloatArray:
        """(sets, states) P(question = state | the answers on `path`, exactly the set's causes)."""
        evidence = tuple(sorted((node, answer) for kind, node, answer in path if answer))
        key = (evidence, question)
        if key not in self.answers:
            network = self.network
            likelihoods = case_likelihoods(network, dict(evidence), None)
            rows = clamp_causes(network, self.model.causes, self.sets, likelihoods)
            result = self.model.diagnoser.infer(rows, [network.index[question]])
            self.answers[key] = np.nan_to_num(result.marginals[network.index[question]])
        return self.answers[key]


def replay(policy: Policy, path: Path) -> tuple[str, str]:
    """The step a (deterministic) policy takes after the steps and outcomes of `path`."""
    evidence: dict[str, str] = {}
    failed: list[str] = []
    steps = policy(evidence, failed, np.random.default_rng(0))
    for (kind, node, answer), step in zip(path, steps):
        assert step == (kind, node), f"the policy is not deterministic: {step} != {(kind, node)}"
        if kind == "question":
            evidence[node] = answer
        else:
            failed.append(node)
    return next(steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="simulated cases per scenario")
    parser.add_argument("--seeds", "--seed", default="0", help="comma-separated seeds, a run each")
    parser.add_argument("--exact", action="store_true", help="also the exact expected costs")
    parser.add_argument(
        "--by-cause", action="store_true", help="with --exact: over the cases of each cause"
    )
    args = parser.parse_args(argv)
    model = syncdx.load_model()
    print(
        f"{'scenario':<13} {'policy':<10} {'mean min':>9} {'p90 min':>8} {'mean steps':>11} "
        f"{'p90 steps':>10} {'vs checklist':>13}"
    )
    for seed in (int(s) for s in args.seeds.split(",")):
        print(f"seed {seed}")
        run_seed(model, args.cases, seed)
    if args.exact:
        print_exact(model, args.by_cause)
    return 0


def print_exact(model: Model, by_cause: bool = False) -> None:
    """The planner's and the checklist's expected costs and how often each ends with support,
    by enumeration (see `Tree`): both scenarios, then one or two causes in the proportions of
    the model's own priors (the distribution the planner's belief starts from); with
    `by_cause`, also over the cases each cause is in."""
    print("exact expected cost, no sampling (the random order is left out)")
    for faults, label in ((1, "single fault"), (2, "two faults"), (None, "model's mix")):
        start = time.perf_counter()
        tree = Tree(model, faults)
        ours, theirs = tree.costs(planner(model)), tree.costs(checklist)
        mean, base = ours.minutes.sum(), theirs.minutes.sum()
        print(
            f"{label:<13} planner {mean:6.2f}  checklist {base:6.2f}  {mean / base - 1:+.1%}"
            f"  support {ours.support.sum():.0%} / {theirs.support.sum():.0%}"
            f"  ({time.perf_counter() - start:.0f} s)"
        )
        if by_cause:
            print_by_cause(model, tree, ours, theirs)


def print_by_cause(model: Model, tree: Tree, ours: Costs, theirs: Costs) -> None:
    """Each cause's share of the cases, and both policies' mean cost and support rate in them."""
    print(f"  {'cause':<28} {'cases':>6} {'planner':>8} {'checklist':>10} {'change':>8} support")
    for k, cause in enumerate(model.causes):
        inside = tree.sets.indicator[:, k] > 0
        share = tree.prior[inside].sum()
        if share <= 0:
            continue
        mean, base = ours.minutes[inside].sum() / share, theirs.minutes[inside].sum() / share
        rates = ours.support[inside].sum() / share, theirs.support[inside].sum() / share
        print(
            f"  {cause:<28} {share:6.1%} {mean:8.1f} {base:10.1f} {mean / base - 1:+8.1%}"
            f" {rates[0]:.0%} / {rates[1]:.0%}"
        )


def run_seed(model: Model, cases: int, seed: int) -> None:
    """Both scenarios for one seed: the table rows, then the planner's time per call."""
    timings: list[float] = []
    policies = {
        "planner": planner(model, timings),
        "checklist": checklist,
        "random": random_order(model),
    }
    for faults, label in ((1, "single fault"), (2, "two faults")):
        drawn = draw_cases(model.network, cases, faults, np.random.default_rng(seed + faults))
        start = time.perf_counter()
        results = simulate(model, policies, drawn, seed)
        base = results["checklist"][:, 0].mean()
        for name, result in results.items():
            cost, steps = result[:, 0], result[:, 1]
            change = f"{cost.mean() / base - 1:+.1%}"
            print(
                f"{label:<13} {name:<10} {cost.mean():9.1f} {np.percentile(cost, 90):8.1f} "
                f"{steps.mean():11.1f} {np.percentile(steps, 90):10.0f} {change:>13}"
            )
        print(f"  ({cases} cases, {time.perf_counter() - start:.1f} s)")
    median = statistics.median(timings) * 1e3 if timings else float("nan")
    print(f"  {median:.1f} ms per plan() call (median of {len(timings)} distinct calls)")


if __name__ == "__main__":
    raise SystemExit(main())
