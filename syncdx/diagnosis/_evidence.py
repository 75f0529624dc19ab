"""Evidence at the edge: answers as people write them, turned into state indices.

Soft evidence is read in `_soft`, tables of answers in `_columns`; `_likelihoods` turns both
into the likelihood arrays the engine reads.

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
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from syncdx.errors import EvidenceError
from syncdx.network._network import Network, Variable, unknown_key

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
    positions, variables, unknown = network.index, network.variables, words(network)
    for name, value in findings(evidence):
        index = positions.get(name) if isinstance(name, str) else None
        if index is None:
            raise _unknown_or_twin(network, name, evidence)
        variable = variables[index]
        code = state_index(variable, value, unknown)
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


def folded_name(name: str) -> str:
    """A column or node name as compared: spaces around dropped, case ignored, and runs of
    spaces, hyphens and underscores alike (`Paused Banner` is `paused_banner`)."""
    return "_".join(name.strip().casefold().replace("-", " ").replace("_", " ").split())


def describe_invalid(network: Network, variable_index: int, value: object) -> EvidenceError:
    """The error for a cell that is not a state of its node."""
    return _bad_value(network.variables[variable_index], value)
