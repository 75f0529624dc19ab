"""Look-ahead over fault sets: the values of acting and of asking that `_plan` compares.

`Search` holds one planning call's fault sets, repairs and open questions. `Search.look` is the
one-step look-ahead from R evidence rows: the weights of the fault sets still present, the ECR
of acting now and after each answer, and each question's one-step ECO, so that
V1 = min(ECR, min_Q ECO). On top of it:

- `Search.act_first`: C_a + P(a fails) V(after a fails), a the first action of the ECR
  sequence; the answers per fault set do not change with a failure, so V1 there needs no more
  inference. Given `widths`, V is `Search.best` after the failure instead of V1.
- `Search.ask_first`: C_Q + sum_s P(Q = s | e) V(e, Q = s) for the `widths[0]` questions of
  lowest one-step ECO, by one batched engine pass (a row per evidence row, question, answer and
  fault set). With one width V is V1; with more, V is `Search.best` with the other widths, for
  the answers reached with probability at least `PRUNE` (less likely answers keep V1).
- `Search.best`: the lowest of V1, acting first (then V1) and asking first (`widths` deep).

Every value is the exact expected cost, under the belief, of a concrete policy, so the lowest
is an upper bound on what the best of them achieves. Rows whose weights come from the evidence
carry keys (`_beliefs.row_keys`), and their inference and ECRs are remembered by those keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from syncdx._ranking import descending, relative_tie
from syncdx.diagnosis import _likelihoods
from syncdx.diagnosis._beliefs import Costs, Key, beliefs
from syncdx.diagnosis._faults import FaultSets, IntArray
from syncdx.diagnosis._recommend import Layout, question_cost
from syncdx.diagnosis._repairs import Repairs
from syncdx.diagnosis._sequence import sequence_cost
from syncdx.network._network import FloatArray

if TYPE_CHECKING:
    from syncdx.diagnosis._diagnoser import Diagnoser

#: Answers less likely than this keep the one-step value instead of a deeper look.
PRUNE = 0.02


@dataclass(frozen=True, slots=True)
class Look:
    """The one-step look-ahead from R evidence states.

    `mass` (R, 1 + columns): P(e, not fixed yet), then with each answer of the layout, on the
    weights' scale; `ecr` and `first` (R, 1 + columns): the ECR of each and its first action;
    `eco` (R, questions): the one-step ECO of each question.
    """

    mass: FloatArray
    ecr: FloatArray
    first: IntArray
    eco: FloatArray

    @property
    def value(self) -> FloatArray:
        """(R,) V1: act now, or ask the best question and then act, whichever costs less."""
        if not self.eco.shape[1]:
            return np.asarray(self.ecr[:, 0])
        return np.asarray(np.minimum(self.ecr[:, 0], self.eco.min(axis=1)))


@dataclass(frozen=True, slots=True)
class Rows:
    """R evidence states on the same path of answers: `likelihoods` (R rows each), `weights`
    (R, sets) of the fault sets at the start, `stay` (R, causes), `answers` (R, columns, sets)
    P(Q = s | e, X = S), and their one-step `look`; `keys`, what each row says (`_beliefs`),
    None when the weights do not come from the evidence alone."""

    likelihoods: dict[int, FloatArray]
    weights: FloatArray
    stay: FloatArray
    answers: FloatArray
    look: Look
    keys: list[Key] | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """The fault sets, repairs and open questions of one planning call (see the module)."""

    model: Diagnoser
    sets: FaultSets
    repairs: Repairs
    layout: Layout
    costs: FloatArray  # (questions,) minutes to answer each
    columns: IntArray  # the layout's columns among the answers of every observation

    @classmethod
    def of(cls, model: Diagnoser, repairs: Repairs, layout: Layout, sets: FaultSets) -> Search:
        """The search over `sets` and `layout`'s questions with `repairs`."""
        costs = np.array([question_cost(model.network, q) for q in layout.questions])
        start, cards = beliefs(model, sets).start, model.network.cards
        columns = [start[q] + s for q in layout.questions for s in range(cards[q])]
        return cls(model, sets, repairs, layout, costs, np.array(columns, dtype=np.intp))

    def infer(self, likelihoods: dict[int, FloatArray]) -> tuple[list[Key], FloatArray, FloatArray]:
        """Each row's key, log P(e_r, X = S) (rows, sets) and P(Q = s | e_r, X = S) (rows,
        columns, sets); rows seen before (in this call or an earlier one) come from
        `_beliefs`."""
        keys, found = beliefs(self.model, self.sets).rows(likelihoods)
        answers = np.stack([b.answers for b in found])[:, self.columns]
        return keys, np.stack([b.log_weights for b in found]), answers

    def look(
        self,
        weights: FloatArray,
        stay: FloatArray,
        answers: FloatArray,
        keys: list[Key] | None = None,
        failed: IntArray | None = None,
    ) -> Look:
        """The one-step look-ahead from (R, sets) weights, (R, causes) stay, answer tables;
        with the rows' `keys`, what was computed before for the same evidence, failures and
        repairs is reused (and what is computed here kept). With `failed` (R,), each row goes
        without that action (a position in the repairs), and its first actions are positions
        in the repairs without it."""
        if keys is None:
            now = self.branches(weights, stay, answers)
            mass = now.sum(axis=2)
            excluded = None if failed is None else np.repeat(failed, mass.shape[1])
            ecr, first = self._sequence(now.reshape(-1, self.sets.size), excluded)
            ecr, first = ecr.reshape(mass.shape), first.reshape(mass.shape)
        else:
            mass, ecr, first = self._remembered(weights, stay, answers, keys, failed)
        return Look(mass, ecr, first, self._eco(mass, ecr))

    def _sequence(
        self, weights: FloatArray, excluded: IntArray | None
    ) -> tuple[FloatArray, IntArray]:
        """`sequence_cost` of (rows, sets) `weights`, each row without its `excluded` action
        (if any), first actions as positions in the repairs without it."""
        ecr, first = sequence_cost(self.sets, weights, self.repairs, excluded)
        if excluded is not None:
            first = first - ((excluded >= 0) & (first > excluded))
        return ecr, first

    def branches(self, weights: FloatArray, stay: FloatArray, answers: FloatArray) -> FloatArray:
        """(R, 1 + columns, sets) weights of the fault sets present now, then after each answer
        of the layout, from (R, sets) weights, (R, causes) stay and answer tables."""
        branches = np.empty((len(weights), 1 + answers.shape[1], self.sets.size))
        branches[:, 0] = weights
        np.multiply(weights[:, np.newaxis, :], answers, out=branches[:, 1:])
        return self.sets.shrink_blocks(branches, stay)

    def _remembered(
        self,
        weights: FloatArray,
        stay: FloatArray,
        answers: FloatArray,
        keys: list[Key],
        failed: IntArray | None,
    ) -> tuple[FloatArray, FloatArray, IntArray]:
        """(R, 1 + columns) mass, ECR and first action of each row, computing only the rows'
        entries that neither an earlier look nor another row here (the same evidence reached
        by answers in another order) has computed for the same evidence, failures and
        repairs."""
        store = beliefs(self.model, self.sets)
        columns = np.r_[0, 1 + self.columns]
        ids = self._repairs_ids(failed, len(keys))
        tables = [store.costs(k, s, i) for k, s, i in zip(keys, stay, ids)]
        distinct = list({id(t): (r, t) for r, t in reversed(list(enumerate(tables)))}.values())
        unknown = ~np.stack([t.known for _, t in distinct])[:, columns]
        todo = [(*distinct[j], np.flatnonzero(unknown[j])) for j in np.flatnonzero(unknown.any(1))]
        if todo:
            self._fill(weights, stay, answers, columns, todo, failed)
        return (
            np.stack([t.mass for t in tables])[:, columns] * weights.sum(axis=1)[:, np.newaxis],
            np.stack([t.ecr for t in tables])[:, columns],
            np.stack([t.first for t in tables])[:, columns],
        )

    def _repairs_ids(self, failed: IntArray | None, rows: int) -> list[tuple[str, ...]]:
        """The ids of each row's repairs: these, less the row's `failed` action if any."""
        if failed is None:
            return [self.repairs.ids] * rows
        ids = self.repairs.ids
        return [ids if a < 0 else ids[:a] + ids[a + 1 :] for a in failed.tolist()]

    def _fill(
        self,
        weights: FloatArray,
        stay: FloatArray,
        answers: FloatArray,
        columns: IntArray,
        todo: list[tuple[int, Costs, IntArray]],
        failed: IntArray | None,
    ) -> None:
        """Compute the `todo` rows' tables at the layout's `columns`: the mass of every column,
        the ECR and first action of those not known yet (one `sequence_cost` for all)."""
        index = np.array([r for r, _, _ in todo], dtype=np.intp)
        now = self.branches(weights[index], stay[index], answers[index])
        flat, width = now.reshape(-1, self.sets.size), len(columns)
        entries = np.concatenate([j * width + cols for j, (_, _, cols) in enumerate(todo)])
        excluded = None
        if failed is not None:
            excluded = np.repeat(failed[index], [cols.size for _, _, cols in todo])
        ecr, first = self._sequence(flat[entries], excluded)
        total = weights[index].sum(axis=1)[:, np.newaxis]  # the mass's scale varies by call
        mass, at = now.sum(axis=2) / np.where(total > 0, total, 1.0), 0
        for j, (_, table, cols) in enumerate(todo):
            where, at = columns[cols], at + cols.size
            table.mass[columns] = mass[j]
            table.ecr[where] = ecr[at - cols.size : at]
            table.first[where] = first[at - cols.size : at]
            table.known[where] = True

    def _eco(self, mass: FloatArray, ecr: FloatArray) -> FloatArray:
        """(R, questions) C_Q + sum_s P(Q = s | e) ECR(e, Q = s)."""
        if not self.layout.questions:
            return np.zeros((len(mass), 0))
        now = mass[:, :1]
        p = mass[:, 1:] / np.where(now > 0, now, 1.0)
        weighted = np.where(p > 0, p * ecr[:, 1:], 0.0)
        offsets = np.asarray(self.layout.offsets, dtype=np.intp)
        return np.asarray(self.costs + np.add.reduceat(weighted, offsets, axis=1))

    def act_first(
        self, rows: Rows, shift: float = 0.0, widths: tuple[int, ...] = ()
    ) -> tuple[FloatArray, IntArray]:
        """(R,) C_a + P(a fails) V(after a fails), and a, the first action of each ECR; V is V1,
        or with `widths` the best of V1, acting first and asking first `widths` deep."""
        look, repairs = rows.look, self.repairs
        first = np.asarray(look.first[:, 0], dtype=np.intp)
        values = np.array(look.ecr[:, 0])
        if len(repairs.ids) == 1:
            return values, first
        if not (widths and self.layout.size):
            return self._act_then_v1(rows, first, values), first
        for action in np.unique(first).tolist():
            if action == repairs.last:
                continue
            group = np.flatnonzero(first == action)
            after = replace(self, repairs=repairs.without(action))
            stay = rows.stay[group] * (1.0 - repairs.fix[action])
            weights, answers = rows.weights[group], rows.answers[group]
            keys = None if rows.keys is None else [rows.keys[r] for r in group.tolist()]
            then = after.look(weights, stay, answers, keys)
            before = look.mass[group, 0]
            fails = then.mass[:, 0] / np.where(before > 0, before, 1.0)
            value = then.value
            if widths and self.layout.size:
                likelihoods = {v: lik[group] for v, lik in rows.likelihoods.items()}
                value = after.best(
                    Rows(likelihoods, weights, stay, answers, then, keys), shift, widths
                )
            values[group] = repairs.costs[action] + fails * value
        return values, first

    def _act_then_v1(self, rows: Rows, first: IntArray, values: FloatArray) -> FloatArray:
        """`act_first` with V1 after the failure: every row's look after its own first action
        fails in one batch (each row without that action)."""
        repairs = self.repairs
        trying = np.flatnonzero(first != repairs.last)  # the last resort ends the session
        if not trying.size:
            return values
        failed = first[trying]
        stay = rows.stay[trying] * (1.0 - repairs.fix[failed])
        keys = None if rows.keys is None else [rows.keys[r] for r in trying.tolist()]
        then = self.look(rows.weights[trying], stay, rows.answers[trying], keys, failed)
        before = rows.look.mass[trying, 0]
        fails = then.mass[:, 0] / np.where(before > 0, before, 1.0)
        values[trying] = repairs.costs[failed] + fails * then.value
        return values

    def ask_first(
        self, rows: Rows, shift: float, widths: tuple[int, ...]
    ) -> tuple[FloatArray, IntArray]:
        """(R,) the lowest C_Q + sum_s P(Q = s | e) V(e, Q = s) over the `widths[0]` questions of
        lowest one-step ECO, and its question's position in the layout; V looks
        `len(widths) - 1` steps further, `widths[1]` questions wide, and so on (see the module).
        `shift` is the log scale of the weights."""
        cards, questions = self.model.network.cards, self.layout.questions
        top = descending(-rows.look.eco)[:, : widths[0]]  # near-ties in model order
        columns = [
            (r, k, s)
            for r, ks in enumerate(top.tolist())
            for k in ks
            for s in range(cards[questions[k]])
        ]
        origin = np.array([r for r, _, _ in columns], dtype=np.intp)
        likelihoods = self._answered(rows.likelihoods, columns)
        keys, log_weights, answers = self.infer(likelihoods)
        stay = rows.stay[origin]
        weights = np.exp(log_weights - shift)
        then = self.look(weights, stay, answers, keys)
        before = rows.look.mass[origin, 0]
        p = then.mass[:, 0] / np.where(before > 0, before, 1.0)
        value = then.value
        deeper = np.flatnonzero(p >= PRUNE)
        if len(widths) > 1 and deeper.size and self.layout.size:
            value = np.array(value)
            value[deeper] = self.best(
                Rows(
                    {v: lik[deeper] for v, lik in likelihoods.items()},
                    weights[deeper],
                    stay[deeper],
                    answers[deeper],
                    _select(then, deeper, np.array([columns[j][1] for j in deeper])),
                    [keys[j] for j in deeper.tolist()],
                ),
                shift,
                widths[1:],
            )
        return self._sum_answers(rows, top, columns, np.where(p > 0, p * value, 0.0))

    def best(self, rows: Rows, shift: float, widths: tuple[int, ...]) -> FloatArray:
        """(R,) the lowest of V1, acting first and asking first (`widths` deep)."""
        acting, _ = self.act_first(rows)
        asking, _ = self.ask_first(rows, shift, widths)
        return np.asarray(np.minimum(rows.look.value, np.minimum(acting, asking)))

    def _sum_answers(
        self, rows: Rows, top: IntArray, columns: list[tuple[int, int, int]], terms: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """The value of each row's best question from the (column,) terms p * V."""
        values = self.costs[top].astype(float)  # (R, width)
        slot = {(r, k): j for r, ks in enumerate(top.tolist()) for j, k in enumerate(ks)}
        for (r, k, _), term in zip(columns, terms.tolist()):
            values[r, slot[r, k]] += term
        # near-ties (values equal but for their last bits, which depend on what earlier calls
        # computed and how rows were batched) go to the first question in model order
        tied = values <= values.min(axis=1, keepdims=True) + relative_tie(values)
        pick = np.argmin(np.where(tied, top, np.iinfo(np.intp).max), axis=1)
        chosen = np.take_along_axis(values, pick[:, None], axis=1)[:, 0]
        return chosen, np.take_along_axis(top, pick[:, None], axis=1)[:, 0]

    def _answered(
        self, base: dict[int, FloatArray], columns: list[tuple[int, int, int]]
    ) -> dict[int, FloatArray]:
        """One row per (evidence row, question position, state): that row with the answer."""
        cards, questions = self.model.network.cards, self.layout.questions
        origin = [r for r, _, _ in columns]
        rows = {v: lik[origin] for v, lik in base.items()}
        for row, (_, k, state) in enumerate(columns):
            v = questions[k]
            rows.setdefault(v, np.ones((len(columns), cards[v])))
            rows[v][row] = rows[v][row] * _likelihoods.one_hot(cards[v], state)[0]
        return rows


def _select(look: Look, index: IntArray, asked: IntArray) -> Look:
    """The rows `index` of a look-ahead, the question just `asked` in each (its position in
    the layout) left out of the questions to ask next."""
    eco = look.eco[index]
    eco[np.arange(len(index)), asked] = np.inf
    return Look(look.mass[index], look.ecr[index], look.first[index], eco)
