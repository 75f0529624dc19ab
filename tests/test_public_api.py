"""The curated public surface of `syncdx`, and its import cost."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import syncdx

#: Each public module and exactly the names it exports.
PUBLIC = {
    "syncdx": [
        "Action",
        "EvidenceError",
        "ImpossibleEvidenceError",
        "InputError",
        "InputWarning",
        "Limits",
        "Model",
        "ModelError",
        "ModelWarning",
        "Network",
        "Session",
        "SessionError",
        "SessionSummary",
        "Step",
        "SyncdxError",
        "UNKNOWN_WORDS",
        "Variable",
        "evaluate",
        "load_model",
        "score_file",
        "shipped_model_path",
        "widget",
    ],
    "syncdx.network": [
        "Action",
        "Network",
        "Role",
        "Variable",
        "bundled_network",
        "from_pgmpy",
        "read_network_file",
        "read_yaml_model",
        "sample",
        "to_pgmpy",
    ],
    "syncdx.inference": ["JunctionTree", "Result", "compile_network"],
    "syncdx.diagnosis": [
        "Conflict",
        "Diagnoser",
        "Evidence",
        "Explanation",
        "SoftEvidence",
        "Step",
        "StepKind",
    ],
    "syncdx.batch": ["Summary"],
    "syncdx.cli": ["main"],
    "syncdx.learn": ["Evaluation", "evaluate_cases"],
}


@pytest.mark.parametrize("name", PUBLIC)
def test_exported_members(name: str) -> None:
    """`__all__` is exactly the documented API, and every other name is private or a module."""
    module = importlib.import_module(name)
    assert sorted(module.__all__) == sorted(PUBLIC[name])
    public = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(module.__all__)
    for member in module.__all__:
        assert getattr(module, member) is not None


@pytest.mark.parametrize(("name", "member"), [(n, m) for n, ms in PUBLIC.items() for m in ms])
def test_exported_classes_and_functions_say_where_to_import_them(name: str, member: str) -> None:
    """A public class or function reports the shortest public module that exports it."""
    value = getattr(importlib.import_module(name), member)
    if isinstance(value, type | types.FunctionType):
        home = "syncdx" if member in PUBLIC["syncdx"] else name
        assert value.__module__ == home


def test_private_modules_stay_private() -> None:
    """Every module inside a layer is private (`_name.py`); the layers are the public faces."""
    root = Path(syncdx.__file__).parent
    public = {p.relative_to(root).as_posix() for p in root.rglob("*.py")} - {
        p.relative_to(root).as_posix() for p in root.rglob("_*.py")
    }
    assert public == {"errors.py", "plot.py"}


def test_import_does_not_load_heavy_dependencies() -> None:
    """`import syncdx` loads neither pgmpy, scikit-learn, statsmodels nor networkx."""
    code = (
        "import sys, syncdx; "
        "print(','.join(m for m in ('pgmpy', 'sklearn', 'statsmodels', 'networkx', 'yaml') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
