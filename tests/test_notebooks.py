"""Execute every notebook in notebooks/ top to bottom (part of `python -m pytest`).

Each notebook runs in a fresh kernel of *this* interpreter (a kernel spec
written for the test points at ``sys.executable``, so a stray user-level
``python3`` kernel can never run the notebooks with another Python), with the
notebook's own folder as working directory, as Jupyter would, and the
checkout first on ``PYTHONPATH`` so the kernel imports the gridkit under test
(an editable install points there anyway). A failing cell fails the test with
the cell's source and traceback. Notebooks are also checked to be committed
without outputs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "gridkit-test-python"
CELL_TIMEOUT = 600  # seconds per cell: a hang fails, a loaded CI machine does not


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment variables for the kernel: its own spec and the checkout on the path."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }))
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {"JUPYTER_PATH": str(jupyter), "PYTHONPATH": path}


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_planner_grids.ipynb",
        "02_analyst_publish.ipynb",
        "03_script_validate.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs; strip them with "
                       f"`jupyter nbconvert --clear-output --inplace {path}`")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_env, monkeypatch):
    for name, value in kernel_env.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    errors = [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
