"""What a person types at `syncdx diagnose`: short answers, commands, volunteered answers.

A reply to a step is, in this order: a command (`:word` always; a bare command word when no
answer is spelled so), a volunteered answer `question=state`, an answer spelled as the model
accepts it (a state, any case; yes/no also as y/n), the number of a choice as the prompt lists
it (`1`, `2`; only for questions whose states are not numbers), or a unique start of one
(`one` for `one_device`). Anything else is not an answer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from syncdx.diagnosis import _evidence as ev
from syncdx.errors import EvidenceError
from syncdx.network._network import Network, Variable

COMMANDS = ("skip", "undo", "why", "quit", "help", "?")
#: Written before a command, it is a command even where the word is also an answer.
COMMAND_PREFIX = ":"
#: What `help`/`?` maps to, and the other spellings of quit.
ALIASES = {"?": "help", "exit": "quit", "q": "quit"}


@dataclass(frozen=True, slots=True)
class Volunteered:
    """An answer given unasked: `question=state`, both resolved to the model's spelling."""

    node: str
    state: str


def parse_answers(pairs: Sequence[str], network: Network | None = None) -> dict[str, str]:
    """{node: state} from NODE=STATE words; an EvidenceError for a node given twice with
    different states (two spellings of one state of `network`'s node are one answer)."""
    answers: dict[str, str] = {}
    for pair in pairs:
        node, sep, state = pair.partition("=")
        if not sep or not node.strip():
            raise EvidenceError(f"expected NODE=STATE, got {pair!r}")
        node, state = node.strip(), state.strip()
        first = answers.setdefault(node, state)
        if not ev.same_answer(network, node, first, state):
            raise EvidenceError(
                f"two answers for {node!r}: {first!r} and {state!r}; give one answer per node",
                node=node,
                value=(first, state),
            )
    return answers


def parse_command(reply: str, answers: Collection[str]) -> str | None:
    """The command a reply names, or None if it is an answer: ":word" always names a command,
    a bare command word only when it is not one of `answers` (lower-case spellings)."""
    word = reply.strip().lower()
    if word.startswith(COMMAND_PREFIX) and word[len(COMMAND_PREFIX) :] in (*COMMANDS, *ALIASES):
        word = word[len(COMMAND_PREFIX) :]
        return ALIASES.get(word, word)
    if word in (*COMMANDS, *ALIASES) and word not in answers:
        return ALIASES.get(word, word)
    return None


def numbered(variable: Variable) -> bool:
    """Whether a question's choices are offered by number: not for yes/no questions (there
    `1` means yes) nor for states that are numbers."""
    lookup = ev.spellings(variable, ev.NO_WORDS)
    return not any(str(n) in lookup for n in range(len(variable.states) + 1))


def choose(variable: Variable, reply: str) -> str | None:
    """The state of `variable` a short reply names (see the module), or None."""
    text = reply.strip()
    lookup = ev.spellings(variable, ev.NO_WORDS)  # a "don't know" word names no state
    index = lookup.get(text) if text else None
    if index is not None and index != ev.UNOBSERVED:
        return variable.states[index]
    if text.isdigit() and numbered(variable) and 1 <= int(text) <= len(variable.states):
        return variable.states[int(text) - 1]
    return _by_prefix(variable.states, text)


def _by_prefix(states: Sequence[str], text: str) -> str | None:
    folded = text.casefold()
    if not folded:
        return None
    starts = [state for state in states if state.casefold().startswith(folded)]
    return starts[0] if len(starts) == 1 else None


def volunteered(network: Network, reply: str) -> Volunteered | None:
    """The answer in a `question=state` reply (question by id or unique start), None if the
    reply has no "="; an EvidenceError naming the closest questions or the allowed states."""
    name, sep, value = reply.partition("=")
    if not sep:
        return None
    questions = [v.id for v in network.variables if v.role == "observation"]
    node = name.strip()
    if node not in network.index:
        node = _by_prefix(questions, node) or node
    variable = ev.node(network, node)
    if not value.strip():
        raise EvidenceError(f"give a state after '=': one of {', '.join(variable.states)}")
    state = choose(variable, value)
    if state is None:
        if ev.spellings(variable, ev.words(network)).get(value.strip()) == ev.UNOBSERVED:
            raise EvidenceError(f"{value.strip()!r} records nothing; just leave it out")
        raise EvidenceError(ev.value_problem(variable, value.strip()))
    return Volunteered(variable.id, state)


def completions(network: Network, answers: Iterable[str]) -> list[str]:
    """The words tab completion offers: the step's answers, the commands, and `question=state`
    for every question of the model."""
    pairs = [
        f"{v.id}={state}"
        for v in network.variables
        if v.role == "observation"
        for state in v.states
    ]
    return [*answers, *COMMANDS[:-1], *pairs]
