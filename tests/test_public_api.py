"""The curated public surface of `syncdx`, and its import cost."""

from __future__ import annotations

import subprocess
import sys

import syncdx


def test_exported_members() -> None:
    """`syncdx.__all__` is exactly the documented public API."""
    assert sorted(syncdx.__all__) == sorted(
        [
            "Action",
            "EvidenceError",
            "ImpossibleEvidenceError",
            "InputError",
            "Model",
            "ModelError",
            "ModelWarning",
            "Network",
            "Session",
            "SessionError",
            "Step",
            "SyncdxError",
            "Variable",
            "load_model",
            "score_file",
            "shipped_model_path",
        ]
    )
    for name in syncdx.__all__:
        assert getattr(syncdx, name) is not None


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
