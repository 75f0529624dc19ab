"""The notebooks run top to bottom, and match the sources they are built from."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def _build_module() -> types.ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _execute(path: Path, folder: Path) -> list[dict[str, object]]:
    """Run the notebook in a fresh kernel started in `folder`; every output of every cell."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}
    )
    client.execute()
    return [o for c in notebook.cells for o in c.get("outputs", [])]


def test_notebooks_match_their_sources() -> None:
    """Every notebook's cells are exactly those in notebooks/build.py (no hand edits that rot)."""
    build = _build_module()
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(build.NOTEBOOKS)
    for name, cells in build.NOTEBOOKS.items():
        saved = json.loads((NOTEBOOKS / name).read_text())
        assert ["".join(c["source"]) for c in saved["cells"]] == cells


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_with_outputs(path: Path) -> None:
    """Every code cell was executed, in order, so readers see the results without running it."""
    cells = json.loads(path.read_text())["cells"]
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    """Each notebook executes in a fresh kernel without an error or a warning on stderr."""
    outputs = _execute(path, NOTEBOOKS)
    assert [o for o in outputs if o["output_type"] == "error"] == []
    assert [o["text"] for o in outputs if o.get("name") == "stderr"] == []


def test_batch_notebook_runs_from_any_folder(tmp_path: Path) -> None:
    """The batch notebook finds the sample reports wherever it is started."""
    outputs = _execute(NOTEBOOKS / "03_batch.ipynb", tmp_path)
    assert [o for o in outputs if o["output_type"] == "error"] == []
