"""The exception tree: what each error is a kind of, and how it says where."""

from __future__ import annotations

import pytest

from syncdx.errors import (
    EvidenceError,
    ImpossibleEvidenceError,
    InputError,
    ModelError,
    SessionError,
    SyncdxError,
)


@pytest.mark.parametrize(
    ("error", "kinds"),
    [
        (ModelError("x"), (SyncdxError, ValueError)),
        (EvidenceError("x"), (SyncdxError, ValueError)),
        (ImpossibleEvidenceError({"a": "yes"}), (EvidenceError, SyncdxError, ValueError)),
        (InputError("x"), (SyncdxError, ValueError)),
        (SessionError("x"), (SyncdxError, ValueError)),
    ],
)
def test_error_kinds(error: Exception, kinds: tuple[type, ...]) -> None:
    """Every syncdx error is a SyncdxError and a ValueError; impossible evidence is evidence."""
    assert all(isinstance(error, kind) for kind in kinds)


def test_messages_say_where() -> None:
    """Errors start with where the problem is: file, node and field, or file, line and column."""
    assert str(ModelError("bad", file="m.yaml", node="x", field="cpt")) == (
        "m.yaml, node 'x', field 'cpt': bad"
    )
    assert str(InputError("bad", file="r.csv", line=3, column="paused_banner")) == (
        "r.csv, line 3, column 'paused_banner': bad"
    )
    assert str(ModelError("bad")) == "bad"


def test_impossible_evidence_lists_the_conflict() -> None:
    """ImpossibleEvidenceError names the conflicting answers and, in a batch, the row."""
    error = ImpossibleEvidenceError({"lung": "yes", "either": "no"}, row=7)
    assert error.conflict == {"lung": "yes", "either": "no"}
    assert str(error).startswith("row 7: impossible evidence")
    assert "lung=yes, either=no" in str(error)
