"""Every tutorial in ``notebooks/`` runs top to bottom, headless, with nbclient (``pytest -m notebook``).

The kernel is this interpreter (see ``jupyter_env.write_kernel_spec``), started in
``notebooks/`` with ``GROWLAB_QUICK=1``, which the notebooks read to train fewer epochs and
seeds. Each notebook must run without an error and show what it is about; the notebooks are
stored without outputs.
"""

from __future__ import annotations

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from jupyter_env import NOTEBOOKS, kernel_env

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT_S = 600
WIDGET = "application/vnd.jupyter.widget-view+json"  # a growlab.Lab (the app as an ipywidget)
BOKEH = "application/vnd.holoviews_exec.v0+json"  # a Bokeh figure or Panel layout shown by Panel
#: What each notebook must show: output kinds, and text that must appear in its outputs.
EXPECT = {
    "01-quickstart.ipynb": ({WIDGET, BOKEH}, ["sigma: 1.0 → 4.0", "'epoch': 60"]),
    "02-reproduce-the-paper.ipynb": ({BOKEH}, ["(84.83)", "strategic+prune", "strategic synthesis beats", "Synthesis and pruning"]),
    "03-nest-odf2nna-lottery.ipynb": ({WIDGET, BOKEH}, ["growth → pruning", "after ε = 0.5 and refinement", "bridge",
                                                        "round 3/3", "lottery ticket"]),
    "04-classroom.ipynb": ({WIDGET, BOKEH}, ["val_acc", "connections", "threshold"]),
    "05-cnn.ipynb": ({WIDGET, BOKEH}, ["growth → pruning", "feature map, Policy 3 (NeST)", "Conv2d",
                                       "outputs equal the run's: True", "kernels active"]),
}  # fmt: skip


def run_notebook(path, kernel_dir) -> nbformat.NotebookNode:
    """Execute ``path`` in a fresh kernel; raises ``CellExecutionError`` naming the failing cell."""
    nb = nbformat.read(path, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir / "kernels")])
    km = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=kernel_env())
    return nb


def outputs_of(nb) -> tuple[set[str], str]:
    """The MIME types of every output, and all their text (plain text, HTML, streams)."""
    kinds, text = set(), []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            kinds |= set(data)
            text += [out.get("text", ""), str(data.get("text/plain", "")), str(data.get("text/html", ""))]
    return kinds, "\n".join(text)


def test_every_notebook_has_expectations():
    assert NOTEBOOK_FILES, f"no notebooks in {NOTEBOOKS}"
    assert {p.name for p in NOTEBOOK_FILES} == set(EXPECT)


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), "clear the outputs before saving"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_runs_top_to_bottom(path, kernel_dir):
    nb = run_notebook(path, kernel_dir)
    kinds, text = outputs_of(nb)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    want_kinds, want_text = EXPECT[path.name]
    assert want_kinds <= kinds, f"missing outputs {want_kinds - kinds}"
    missing = [t for t in want_text if t not in text]
    assert not missing, f"{path.name} never shows {missing}"
