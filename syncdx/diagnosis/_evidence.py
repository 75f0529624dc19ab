"""Evidence at the edge: answers as people write them, turned into state indices and likelihoods.

A value spelled exactly as one of a node's states means that state. Otherwise values match the
states case-insensitively, with surrounding blanks ignored, when only one state fits (states that
differ only in case, as BIF files allow, must be spelled exactly); for yes/no states, `true/false`,
`1/0` and `y/n` are accepted too; a number with no fractional part matches the state spelled as
that integer (2.0 is "2"). A blank (None, NaN, pandas' NA or NaT, "") means "not observed", and
so does a "don't know" word of the model (`Network.unknown_words`, by default `UNKNOWN_WORDS`:
"?", "don't know", "not sure", "maybe", "unknown", "skip", "n/a", case and inner spaces ignored)
unless it spells a state of the node: a node with a state "unknown" (or "maybe") keeps it. The
words are the model's, never a process-wide setting: functions that read answers take them
(`words(network)`). Anything else is an `EvidenceError` naming the node, the value and the
allowed states.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from numbers import Real
from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from syncdx.errors import EvidenceError, InputError
from syncdx.network._network import FloatArray, Network, Variable

if TYPE_CHECKING:  # pandas is imported where tables are read, to keep `import syncdx` fast
    import pandas as pd

#: Extra spellings accepted for the states `yes` and `no`.
ALIASES = {"yes": ("true", "1", "y", "1.0"), "no": ("false", "0", "n", "0.0")}
#: Code for "not observed" in encoded evidence.
UNOBSERVED = -1
#: The default answers that mean "no evidence" (as blanks do) for a node that has no state
#: spelled so ("maybe" included: in a report it means the person could not tell).
UNKNOWN_WORDS = frozenset(
    {"?", "don't know", "dont know", "do not know", "not sure", "maybe", "unknown", "skip", "n/a"}
)
#: No "don't know" words: for state names (soft evidence), which must name a state.
NO_WORDS: frozenset[str] = frozenset()
#: Code for a value that is not a state of its node.
INVALID = -2

#: Integers longer than this many bits show in messages by their number of digits.
LONGEST_INTEGER_BITS = 128

#: Answers {node id: value}: any mapping, or a pandas Series such as a row of a frame.
Evidence: TypeAlias = "Mapping[str, object] | pd.Series"
SoftEvidence = Mapping[str, Mapping[str, float]]
CodeArray = npt.NDArray[np.int16]


def normalise(value: object) -> str | None:
    """The comparable spelling of an answer (blanks around it removed), or None for a blank.

    Blanks are None, NaN (any float type), pandas' NA and NaT, and empty text. A number with no
    fractional part reads as an integer (2.0 as "2", as the state a BIF file spells "2").
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):  # without importing pandas
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


class Spellings(Mapping[str, int]):
    """Every accepted spelling of a variable's states -> state index.

    A state's exact spelling always means that state. Any other capitalisation, and for yes/no
    states the aliases in `ALIASES`, is accepted when it names one state only; lookups ignore
    case, so `"YES" in spellings` holds. `clashes` lists the states a caseless spelling could
    mean when it could mean several.
    """

    __slots__ = ("clashes", "exact", "folded", "unknown")

    def __init__(self, states: tuple[str, ...], unknown: frozenset[str] = frozenset()) -> None:
        self.exact = {state: i for i, state in enumerate(states)}
        groups: dict[str, list[int]] = {}
        for i, state in enumerate(states):
            groups.setdefault(state.casefold(), []).append(i)
        self.folded = {text: group[0] for text, group in groups.items() if len(group) == 1}
        self.clashes = {
            text: tuple(states[i] for i in group)
            for text, group in groups.items()
            if len(group) > 1
        }
        for state, aliases in ALIASES.items():
            if state in self.folded:
                self.folded.update({a: self.folded[state] for a in aliases if a not in groups})
        #: the "don't know" words that are no spelling of a state: they mean UNOBSERVED
        self.unknown = frozenset(w for w in unknown if w not in self.folded and w not in groups)

    def __getitem__(self, text: str) -> int:
        index = self.exact.get(text)
        if index is not None:
            return index
        folded = text.casefold()
        if folded not in self.folded and unknown_key(text) in self.unknown:
            return UNOBSERVED
        return self.folded[folded]

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and (text in self.exact or text.casefold() in self.folded)

    def __iter__(self) -> Iterator[str]:
        return iter({**self.exact, **self.folded})

    def __len__(self) -> int:
        return len({**self.exact, **self.folded})


def spellings(variable: Variable, unknown: frozenset[str]) -> Spellings:
    """The spellings accepted for the variable's states, `unknown` being the "don't know"
    words (`words(network)`; see `Spellings`)."""
    return _spellings(variable.states, unknown)


@cache
def _spellings(states: tuple[str, ...], unknown: frozenset[str]) -> Spellings:
    return Spellings(states, unknown)


def words(network: Network) -> frozenset[str]:
    """The answers that mean "no evidence" in reports on `network` (its `unknown_words`, or
    `UNKNOWN_WORDS`)."""
    chosen = network.unknown_words
    return UNKNOWN_WORDS if chosen is None else chosen


def unknown_key(text: str) -> str:
    """A "don't know" word as compared: case and runs of blanks ignored, ’ read as '."""
    return " ".join(text.replace("\u2019", "'").casefold().split())


def word_set(chosen: str | Iterable[str] | None) -> frozenset[str]:
    """ "Don't know" words as a model keeps them: compared as `unknown_key` spells them, blanks
    dropped (None: `UNKNOWN_WORDS`; an empty list: none). A TypeError unless they are text."""
    given = UNKNOWN_WORDS if chosen is None else names(chosen, "unknown_words")
    return frozenset(key for key in map(unknown_key, given) if key)


def state_index(variable: Variable, value: object, unknown: frozenset[str]) -> int:
    """The index of the state `value` names (UNOBSERVED for a blank or one of the `unknown`
    words that is no state); EvidenceError otherwise."""
    lookup = _spellings(variable.states, unknown)
    if type(value) is str:  # most answers are spelled as the model spells them
        index = lookup.exact.get(value)
        if index is not None:
            return index
    text = normalise(value)
    if text is None:
        return UNOBSERVED
    index = lookup.get(text)
    if index is None:
        raise _bad_value(variable, value)
    return index


def shown(value: object) -> str:
    """`value` as a message shows it: its repr, numpy scalars as the Python value (1.0), an
    integer too long to print in full by its number of digits, anything long shortened."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, int) and value.bit_length() > LONGEST_INTEGER_BITS:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    return reprlib.repr(value) if isinstance(value, list | tuple | dict | set) else repr(value)


def _shown_answer(value: object) -> str:
    """An answer as a message shows it: as `shown`, but a number with no fractional part as
    the integer it is read as (2.0, from an integer column with gaps, shows as 2)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return repr(int(value))
    return shown(value)


def _bad_value(variable: Variable, value: object) -> EvidenceError:
    return EvidenceError(
        value_problem(variable, value), node=variable.id, value=value, allowed=variable.states
    )


def value_problem(variable: Variable, value: object, *, named: bool = True) -> str:
    """Why `value` names no state of `variable` (ambiguous, or not a state: the allowed ones
    listed); `named` says which node it is for."""
    for_node, of_node = (f" for {variable.id!r}", f" of {variable.id!r}") if named else ("", "")
    text = normalise(value)
    clash = _spellings(variable.states, NO_WORDS).clashes.get(text.casefold()) if text else None
    answer = _shown_answer(value)
    if clash:
        return (
            f"{answer} is ambiguous{for_node}: the states {', '.join(clash)} differ only in "
            "case; spell the one meant exactly"
        )
    close = difflib.get_close_matches(text or "", variable.states, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{answer} is not a state{of_node}; allowed: {', '.join(variable.states)}{hint}"


def node(network: Network, name: str) -> Variable:
    """The variable called `name`; an EvidenceError listing the nodes if there is none (a name
    that is not a string included)."""
    if not isinstance(name, str) or name not in network.index:
        raise _unknown(network, name)
    return network.variables[network.index[name]]


#: Most nodes an error lists in full; past that it names the closest ones.
LISTED_NODES = 12


def _unknown(network: Network, name: object) -> EvidenceError:
    """Unknown node `name`: the closest names (difflib), or every node in a small model."""
    ids = network.ids()
    close = difflib.get_close_matches(name, ids, n=3, cutoff=0.6) if isinstance(name, str) else []
    if close:
        hint = f"did you mean {' or '.join(map(repr, close))}?"
    elif len(ids) <= LISTED_NODES:
        hint = f"the model's nodes are: {', '.join(ids)}"
    else:
        hint = f"the model has {len(ids)} nodes (`syncdx describe` lists them)"
    return EvidenceError(
        f"unknown node {_shown_name(name)}; {hint}",
        node=name if isinstance(name, str) else None,
        allowed=ids,
    )


def _shown_name(name: object) -> str:
    """A node name as a message shows it: its repr, and its type unless it is a string."""
    if isinstance(name, str):
        return repr(name)
    return f"{reprlib.repr(name)} (of type {type(name).__name__}; node names are strings)"


def names(value: str | Iterable[str], argument: str = "names") -> tuple[str, ...]:
    """Node or action names: a single string is one name, not a sequence of letters.

    A TypeError naming `argument` unless `value` is a string or an iterable of strings.
    """
    if isinstance(value, str):
        return (value,)
    wanted = f"{argument} must be a name (a string) or an iterable of names"
    if value is None or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise TypeError(f"{wanted}, got {reprlib.repr(value)}")
    out = tuple(value)
    bad = next((name for name in out if not isinstance(name, str)), None)
    if bad is not None:
        raise TypeError(f"{wanted}; {reprlib.repr(bad)} is not a string")
    return out


def findings(evidence: Evidence | None) -> Iterable[tuple[str, object]]:
    """The (node, answer) pairs of `evidence`; a TypeError if it is not a mapping or a Series."""
    if evidence is None:
        return ()
    if not hasattr(evidence, "items"):
        raise TypeError(
            "evidence must be a mapping {node: answer} or a pandas Series, "
            f"got {type(evidence).__name__}"
        )
    return cast("Iterable[tuple[str, object]]", evidence.items())


def encode(network: Network, evidence: Evidence | None) -> dict[int, int]:
    """Hard evidence as {variable index: state index}; blanks are dropped.

    Two answers for one node (a Series with a repeated index, or keys that differ only in case
    or surrounding spaces) are an EvidenceError naming the node and both answers, unless they
    name the same state (or are both blank): then they are one answer.
    """
    codes: dict[int, int] = {}
    given: dict[int, tuple[object, int]] = {}
    for name, value in findings(evidence):
        if not isinstance(name, str) or name not in network.index:
            raise _unknown_or_twin(network, name, evidence)
        variable = network.variables[network.index[name]]
        index, code = network.index[name], state_index(variable, value, words(network))
        first = given.setdefault(index, (value, code))
        if first[1] != code:
            raise _two_answers(variable, first[0], value)
        if code != UNOBSERVED:
            codes[index] = code
    return codes


def _unknown_or_twin(network: Network, name: object, evidence: Evidence | None) -> EvidenceError:
    """The error for an evidence key that names no node: two answers for one node when the key
    differs only in case or spaces from a node answered otherwise, else an unknown node."""
    if isinstance(name, str):
        twin = next((n for n in network.ids() if folded_name(n) == folded_name(name)), None)
        pairs = list(findings(evidence))
        theirs = [value for key, value in pairs if key == twin]
        if twin is not None and theirs:
            variable = network.variable(twin)
            mine = next(value for key, value in pairs if key == name)
            if not _same_answer(variable, theirs[0], mine, words(network)):
                return _two_answers(variable, theirs[0], mine, name)
    return _unknown(network, name)


def same_answer(network: Network | None, name: str, first: object, second: object) -> bool:
    """Whether two answers for node `name` name the same state of it (without `network`, or
    if the node is unknown or a value is not a state, whether they are equal)."""
    if network is None or name not in network.index:
        return first == second
    return _same_answer(network.variable(name), first, second, words(network))


def _same_answer(
    variable: Variable, first: object, second: object, unknown: frozenset[str]
) -> bool:
    try:
        return state_index(variable, first, unknown) == state_index(variable, second, unknown)
    except EvidenceError:
        return first == second


def _two_answers(
    variable: Variable, first: object, second: object, spelled: object = None
) -> EvidenceError:
    """Two different answers for one node (the second under the key `spelled`, if not its id)."""
    key = f" (given as {spelled!r})" if spelled is not None else ""
    return EvidenceError(
        f"two answers for {variable.id!r}: {_shown_answer(first)} and "
        f"{_shown_answer(second)}{key}; give one answer per node",
        node=variable.id,
        value=(first, second),
        allowed=variable.states,
    )


def encode_soft(network: Network, soft: SoftEvidence | None) -> dict[int, FloatArray]:
    """Likelihood (virtual) evidence as {variable index: weight per state}.

    Every state of a node needs a weight, a finite real number >= 0 (0 rules the state out),
    and not all of them 0; anything else is an `EvidenceError` naming the node.
    """
    if soft is None:
        return {}
    if not isinstance(soft, Mapping):
        raise TypeError(
            "soft must be a mapping {node: {state: weight}} such as "
            f'{{"internet_works": {{"yes": 0.8, "no": 0.2}}}}, got {type(soft).__name__}'
        )
    out = {}
    for name, weights in soft.items():
        variable = node(network, name)
        out[network.index[variable.id]] = _soft_weights(variable, weights)
    return out


def _soft_weights(variable: Variable, weights: object) -> FloatArray:
    """The weight vector of one node's soft evidence, validated (see `encode_soft`)."""
    if not isinstance(weights, Mapping):
        raise _bad_soft(variable, weights, f"must map each state to a weight, got {weights!r}")
    vector = np.full(variable.card, np.nan)
    for value, weight in weights.items():
        index = state_index(variable, value, NO_WORDS)  # a weight names a state, never "maybe"
        if index == UNOBSERVED:
            raise _bad_soft(variable, weights, f"has a blank state name ({shown(value)})")
        if not (isinstance(weight, Real) and 0.0 <= _as_float(weight) < math.inf):
            raise _bad_soft(
                variable,
                weights,
                f"needs a finite real weight >= 0, got {shown(weight)} for {value!r}",
            )
        if not math.isnan(vector[index]):
            raise _bad_soft(variable, weights, f"weighs {variable.states[index]!r} twice")
        vector[index] = weight
    missing = [state for state, w in zip(variable.states, vector) if math.isnan(w)]
    if missing:
        raise _bad_soft(
            variable,
            weights,
            f"gives no weight to {', '.join(missing)}; give every state a weight "
            "(0 rules a state out)",
        )
    if not vector.any():
        raise _bad_soft(variable, weights, "gives every state weight 0")
    return vector


def _as_float(number: Real) -> float:
    """`number` as a float; infinity (not a weight either way) for a number too large in
    magnitude for one (10**400)."""
    try:
        return float(number)
    except OverflowError:
        return math.inf


class Reported(dict[str, float]):
    """Soft evidence weights on one node that say in words where they come from (`reason`,
    e.g. "restart_device did not fix it"), for messages about impossible evidence."""

    def __init__(self, weights: Mapping[str, float], reason: str) -> None:
        super().__init__(weights)
        self.reason = reason


def describe_soft(name: str, weights: Mapping[str, float]) -> str:
    """How soft evidence on node `name` reads in a message: its `reason`, or its weights."""
    if isinstance(weights, Reported):
        return weights.reason
    shown_weights = ", ".join(f"{state!r}: {shown(w)}" for state, w in weights.items())
    return f"soft evidence on {name!r} ({{{shown_weights}}})"


def _bad_soft(variable: Variable, weights: object, problem: str) -> EvidenceError:
    return EvidenceError(
        f"soft evidence on {variable.id!r} {problem}",
        node=variable.id,
        value=weights,
        allowed=variable.states,
    )


def case_likelihoods(
    network: Network, evidence: Evidence | None, soft: SoftEvidence | None
) -> dict[int, FloatArray]:
    """Hard and soft evidence of one case as (1, states) likelihood arrays: one-hot for an
    answer (a shared read-only row), times the weights of any soft evidence on the node."""
    cards = network.cards
    out = {v: one_hot(cards[v], s) for v, s in encode(network, evidence).items()}
    for v, weights in encode_soft(network, soft).items():
        out[v] = out.get(v, 1.0) * weights[np.newaxis]
    return out


@lru_cache(maxsize=4096)
def one_hot(card: int, state: int) -> FloatArray:
    """The (1, card) read-only one-hot row of `state`, built on first use: linear in the
    states (an identity matrix per cardinality was states^2: 12.8 GB for 40,000 states)."""
    row = np.zeros((1, card))
    row[0, state] = 1.0
    row.setflags(write=False)
    return row


def likelihoods(
    cards: tuple[int, ...],
    codes: CodeArray,
    columns: tuple[int, ...],
    *,
    states_major: bool = False,
) -> dict[int, FloatArray]:
    """One (rows, states) likelihood array per column of `codes`: one-hot, or ones if blank
    (zeros for any other negative code). With `states_major`, each is the transposed view of
    a (states, rows) array: the layout the batch engine reads, so it copies nothing."""
    out = {}
    for j, var in enumerate(columns):
        column = codes[:, j]
        if (column == UNOBSERVED).all():
            continue
        card = cards[var]
        if card > _GATHERED_STATES:
            states = np.arange(card)
            lik = ((column[:, None] == states) | (column[:, None] == UNOBSERVED)).astype(float)
            out[var] = np.asfortranarray(lik) if states_major else lik
            continue
        index = np.where(column >= 0, column + 1, np.where(column == UNOBSERVED, 0, card + 1))
        wide = _evidence_columns(card).take(index, axis=1)  # (states, rows)
        out[var] = wide.T if states_major else np.ascontiguousarray(wide.T)
    return out


#: Variables with at most this many states get their likelihoods by one gather (`likelihoods`).
_GATHERED_STATES = 64


@lru_cache(maxsize=_GATHERED_STATES)
def _evidence_columns(card: int) -> FloatArray:
    """(card, card + 2) read-only: the likelihood of a blank (ones), of each state (one-hot),
    then of a bad code (zeros), as columns."""
    table = np.zeros((card, card + 2))
    table[:, 0] = 1.0
    table[:, 1 : card + 1] = np.eye(card)
    table.setflags(write=False)
    return table


@dataclass(frozen=True, slots=True)
class Distinct:
    """The distinct rows of a code array: `rows`, each row's position among them (`inverse`),
    and one int64 key per distinct row (`keys`, None when the codes have too many combinations
    for one; see `pattern_keys`)."""

    rows: CodeArray
    inverse: npt.NDArray[np.intp]
    keys: npt.NDArray[np.int64] | None


def distinct_rows(codes: CodeArray, cards: Sequence[int] | None = None) -> Distinct:
    """The distinct rows of `codes`, so that each is computed once.

    `cards` (one per column) fixes the radix of the keys, so that a key means the same row in
    every call (None: the radix comes from the codes themselves). Rows without columns are all
    the one blank row; no rows give no distinct row.
    """
    if codes.shape[1] == 0 or len(codes) == 0:
        return Distinct(codes[:1], np.zeros(len(codes), dtype=np.intp), None)
    radix = np.maximum(codes.max(axis=0), 0) + 1 if cards is None else cards
    keys = pattern_keys(codes, radix)
    if keys is None:
        unique, inverse = unique_rows(codes)
        return Distinct(unique, inverse, None)
    distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return Distinct(codes[first], inverse, distinct)


def unique_rows(codes: CodeArray) -> tuple[CodeArray, npt.NDArray[np.intp]]:
    """`np.unique(codes, axis=0, return_inverse=True)`: the same rows in the same (lexicographic)
    order, found by one `np.lexsort` of the rows packed into a few 62-bit keys (each key holds
    consecutive columns, the first most significant): about 20x faster on 50,000 x 42."""
    order = np.lexsort(_packed_columns(codes)[::-1])  # lexsort's last key is the primary one
    ordered = codes[order]
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(codes), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


def _packed_columns(codes: CodeArray) -> list[npt.NDArray[np.int64]]:
    """The columns of `codes` packed into as few int64 keys as fit 62 bits each, in column
    order, so that comparing the keys in turn compares the rows lexicographically."""
    low = codes.min(axis=0).astype(np.int64)
    radix = codes.max(axis=0).astype(np.int64) - low + 1
    keys: list[npt.NDArray[np.int64]] = []
    key, bits = np.zeros(len(codes), dtype=np.int64), 0.0
    for j, r in enumerate(radix.tolist()):
        if bits + math.log2(r) >= 62:
            keys.append(key)
            key, bits = np.zeros(len(codes), dtype=np.int64), 0.0
        key = key * r + (codes[:, j].astype(np.int64) - low[j])
        bits += math.log2(r)
    keys.append(key)
    return keys


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """A table of answers as state codes: one column per evidence node, in `columns` order."""

    codes: CodeArray
    columns: tuple[int, ...]
    names: tuple[str, ...]

    @property
    def invalid(self) -> npt.NDArray[np.bool_]:
        """Cells whose value is not a state of their node."""
        return np.asarray(self.codes == INVALID)


def encode_frame(network: Network, frame: pd.DataFrame) -> EncodedFrame:
    """Encode the columns of `frame` named after nodes (see `column_nodes`); other columns are
    ignored. Cells with a value that is not a state get the code INVALID (the caller reports
    them)."""
    labels = {str(c): c for c in frame.columns}
    found = column_nodes(tuple(labels), network.ids())
    codes = np.full((len(frame), len(found)), UNOBSERVED, dtype=np.int16)
    for j, (name, node_id) in enumerate(found.items()):
        codes[:, j] = encode_column(network.variable(node_id), frame[labels[name]], words(network))
    return EncodedFrame(codes, tuple(network.index[n] for n in found.values()), tuple(found))


def check_column_names(
    columns: tuple[str, ...], *, file: str | None = None, line: int | None = None
) -> None:
    """InputError if a column name appears twice or two columns have no name; `file` and
    `line` say where the header is, for a table read from a file."""
    unnamed = [str(i + 1) for i, name in enumerate(columns) if name == ""]
    if len(unnamed) > 1:
        raise InputError(
            f"columns {', '.join(unnamed)} have no name (trailing commas in the header?); "
            "name them or remove them",
            file=file,
            line=line,
        )
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise InputError("duplicate column", file=file, line=line, column=name)
        seen.add(name)


def column_nodes(
    names: Sequence[str], nodes: Sequence[str], file: str | None = None
) -> dict[str, str]:
    """{column: node} for the column names that name a node, matched as people type headers
    (spaces around them and case ignored); an InputError if two columns name one node."""
    folded = {folded_name(node): node for node in nodes}
    found: dict[str, str] = {}
    for name in names:
        node_id = folded.get(folded_name(name))
        if node_id is None:
            continue
        twin = next((column for column, other in found.items() if other == node_id), None)
        if twin is not None:
            raise InputError(
                f"columns {twin!r} and {name!r} both name {node_id!r}; keep one",
                file=file,
                column=name,
            )
        found[name] = node_id
    return found


def no_columns(
    names: Sequence[object], nodes: Sequence[str], what: str, file: str | None = None
) -> InputError:
    """The error for a table none of whose columns `names` names one of `nodes` (`what` they
    are, e.g. "an observation"): close spellings and column names that are not text named."""
    text = [name for name in names if isinstance(name, str)]
    folded = {folded_name(node): node for node in nodes}
    close = [
        f"{name!r} for {folded[match[0]]!r}"
        for name in text
        if (match := difflib.get_close_matches(folded_name(name), folded, n=1, cutoff=0.8))
    ]
    hints = [f"close: {', '.join(close)}"] if close else []
    if len(text) < len(names):
        odd = next(name for name in names if not isinstance(name, str))
        hints.append(f"column names must be strings, got {reprlib.repr(odd)}")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return InputError(
        f"no column is named after {what} of the model{hint}; expected some of: "
        + ", ".join(nodes),
        file=file,
    )


def folded_name(name: str) -> str:
    """A column or node name as compared: spaces around dropped, case ignored, and runs of
    spaces, hyphens and underscores alike (`Paused Banner` is `paused_banner`)."""
    return "_".join(name.strip().casefold().replace("-", " ").replace("_", " ").split())


def encode_column(variable: Variable, column: pd.Series, unknown: frozenset[str]) -> CodeArray:
    """State codes of one column, decoding each distinct value once (`unknown`: the "don't
    know" words)."""
    import pandas as pd

    try:
        keys, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): none of them is a state
        return np.array([_cell_code(variable, v, unknown) for v in column], dtype=np.int16)
    table = np.empty(len(uniques) + 1, dtype=np.int16)
    table[-1] = UNOBSERVED  # factorize marks missing values with -1
    lookup = spellings(variable, unknown)
    for i, value in enumerate(uniques):
        text = normalise(value)
        table[i] = UNOBSERVED if text is None else lookup.get(text, INVALID)
    return table[keys]


def _cell_code(variable: Variable, value: object, unknown: frozenset[str]) -> int:
    """The state code of one cell: INVALID for a value that cannot be a state (a list)."""
    try:
        hash(value)
    except TypeError:
        return INVALID
    text = normalise(value)
    return UNOBSERVED if text is None else spellings(variable, unknown).get(text, INVALID)


def pattern_keys(codes: CodeArray, cards: Sequence[int]) -> npt.NDArray[np.int64] | None:
    """One int64 per row of `codes` identifying the row (column j's codes in INVALID..cards[j]-1).

    None when the rows have too many combinations to fit in 62 bits.
    """
    radix = np.asarray(cards, dtype=np.int64) - INVALID
    if sum(math.log2(r) for r in radix.tolist()) >= 62:
        return None
    # Horner's rule over the columns, column 0 the least significant: one pass per column (an
    # integer matrix product has no BLAS and was most of the work on a million rows)
    key = np.zeros(len(codes), dtype=np.int64)
    for j in range(codes.shape[1] - 1, -1, -1):
        key *= radix[j]
        key += codes[:, j]
        key -= INVALID
    return key


def describe_invalid(network: Network, variable_index: int, value: object) -> EvidenceError:
    """The error for a cell that is not a state of its node."""
    return _bad_value(network.variables[variable_index], value)
