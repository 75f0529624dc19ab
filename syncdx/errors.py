"""The exceptions syncdx raises.

    SyncdxError
    ├── ModelError               a model file or network is invalid (file, node, field)
    ├── EvidenceError            evidence names an unknown node or state (node, value, allowed)
    │   └── ImpossibleEvidenceError   P(evidence) = 0 (the conflicting findings)
    ├── InputError               a batch input file cannot be read (file, line, column)
    └── SessionError             a step a session refuses, or a saved session that cannot be read

    ModelWarning (a UserWarning)  a model that loads but holds something that has no effect

Each message shows values through `shown`, so a huge or deeply nested value in a file cannot
make a message huge.

Each error below the base is also a `ValueError`, so callers that only know the standard
library still catch them.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence

#: The longest message an error carries; the rest is cut, saying how much was cut.
MAX_MESSAGE = 2_000
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 20
_REPR.maxdict = _REPR.maxarray = 10


def shown(value: object) -> str:
    """`repr(value)`, bounded: long strings, big or deeply nested containers are cut short."""
    return _REPR.repr(value)


def _bounded(message: str) -> str:
    """`message`, cut to `MAX_MESSAGE` characters."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE} more characters)"


class SyncdxError(Exception):
    """Base class of every error syncdx raises on purpose."""


class ModelWarning(UserWarning):
    """A model loads, but holds something that has no effect (named by file, node, field)."""


class InputWarning(UserWarning):
    """A table is read, but holds something that looks like a mistake (a column whose name is
    close to an observation's but matches none, so it is carried through as a plain column)."""


class ModelError(SyncdxError, ValueError):
    """A model file or network is invalid; names the file, the node and the field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        node: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file, self.node, self.field = file, node, field
        super().__init__(_located(message, file, ("node", node), ("field", field)))


class EvidenceError(SyncdxError, ValueError):
    """Evidence names an unknown node or a state the node does not have."""

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        value: object = None,
        allowed: Sequence[str] = (),
    ) -> None:
        self.node, self.value, self.allowed = node, value, tuple(allowed)
        super().__init__(message)


class ImpossibleEvidenceError(EvidenceError):
    """The evidence has probability zero under the model.

    `conflict` is a smallest set of findings that cannot all hold together: the answers a
    person should re-check. `row` names the row of a batch, where there is one. `findings`
    are those findings as a person reads them: `node=state`, or as given in `shown` where that
    would not do (soft evidence, a repair that did not fix the problem).
    """

    def __init__(
        self, conflict: Mapping[str, str], *, row: object = None, shown: Sequence[str] = ()
    ) -> None:
        self.conflict, self.row = dict(conflict), row
        self.findings = tuple(shown) or tuple(f"{n}={s}" for n, s in self.conflict.items())
        where = f"row {row!r}: " if row is not None else ""
        several = len(self.findings) > 1
        tail = " together; re-check these answers" if several else "; re-check this answer"
        super().__init__(
            f"{where}impossible evidence: the model gives probability 0 to "
            f"{', '.join(self.findings)}{tail}",
            node=next(iter(self.conflict), None),
        )


class InputError(SyncdxError, ValueError):
    """A batch input cannot be read; names the file, and the line and column where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.line, self.column = file, line, column
        super().__init__(_located(message, file, ("line", line), ("column", column)))


class SessionError(SyncdxError, ValueError):
    """A step the session refuses (it is resolved, nothing to undo), or a saved session that
    cannot be read (bad JSON, wrong format or version, another model)."""


def _located(message: str, file: str | None, *parts: tuple[str, object]) -> str:
    """`message` behind a prefix saying where: "model.yaml, node 'x', field 'cpt': ..."."""
    where = [file] if file else []
    where += [
        f"{label} {value}" if isinstance(value, int) else f"{label} {shown(value)}"
        for label, value in parts
        if value is not None
    ]
    return _bounded(f"{', '.join(where)}: {message}" if where else message)


class MissingExtraError(InputError):
    """An optional extra a command needs is not installed; says what to `pip install`. The
    command line exits with code 1 for every missing extra."""
