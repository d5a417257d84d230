"""Hostile names in ``growlab.Lab`` inside JupyterLab: a page script there could drive the Jupyter
server's API (write files, run code), so nothing from a CSV may run or become an element.

Starts ``jupyter lab`` on loopback with a token in a temporary folder holding a notebook that
shows a ``Lab``, feeds it a CSV whose column names, class labels and file name are markup
(as the widget's upload does), selects the neuron named ``<img …>`` for the inspector, and
makes an error toast quote a hostile class label. Fails if any payload runs or any hostile
element appears, and checks the names are shown as text.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.request
from pathlib import Path

import nbformat
import pytest

from growlab.ui.serve import free_port
from hostile import IMG, INIT_JS, check_clean, page_text
from notebooks.jupyter_env import kernel_env, write_kernel_spec
from serving import serving

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
NOTEBOOK = "hostile.ipynb"
CELLS = [
    f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport growlab\n"
    "from hostile import FILENAME, hostile_csv\n"
    "lab = growlab.Lab(dataset='xor', arch='4', method='strategic+prune', epochs=200)\nlab",
    "lab.session.upload_csv(hostile_csv(), FILENAME)  # what the widget's upload button does\n"
    "lab.step(2)\nlab.cycle()\n"
    "lab.app.diagram.selected = {'kind': 'neuron', 'layer': 0, 'unit': 0}\nlab.refresh()\nprint('step 2 done')",
    "lab.session.upload_csv(hostile_csv(rare_class=True), 'again ' + FILENAME)\nlab.session.reset()\n"
    "print('messages:', len(lab.messages))",
]


@pytest.fixture(scope="module")
def hostile_notebook(tmp_path_factory):
    """``jupyter lab`` on a free loopback port serving a folder with the hostile notebook; yields its URL."""
    tmp = tmp_path_factory.mktemp("jupyterlab-hostile")
    root, data, settings = tmp / "root", tmp / "data", tmp / "settings"
    root.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, root / NOTEBOOK)
    write_kernel_spec(data)
    notes = settings / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = kernel_env(
        JUPYTER_PATH=str(data), JUPYTER_DATA_DIR=str(data), JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), IPYTHONDIR=str(tmp / "ipython"),
    )  # fmt: skip
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    ready = lambda: urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()  # noqa: E731
    with serving(cmd, ready, tmp / "jupyterlab.log", what="jupyter lab", start_s=120, cwd=root, env=env, poll_s=0.5, stop_s=20):
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}", root


def test_a_hostile_csv_in_a_lab_runs_nothing(browser, hostile_notebook):
    url, root = hostile_notebook
    ctx = browser.new_context(viewport={"width": 1600, "height": 1100})
    ctx.add_init_script(INIT_JS)
    page = ctx.new_page()
    page.set_default_timeout(300_000)
    try:
        page.goto(url)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        page.wait_for_function("() => /Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')")
        before = sorted(p.name for p in root.iterdir())
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.locator(".jp-OutputArea-output", has_text="messages:").wait_for()
        toast = page.locator(".notyf__message", has_text="rare").first
        toast.wait_for(timeout=90_000)  # the Reset's error (8 s on screen): read while it shows
        toasts = [toast.inner_text()]
        page.locator(".gl-strip", has_text="csv").first.wait_for()
        page.wait_for_timeout(2000)  # the last redraw is out
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in outputs, outputs[-3000:]
        check_clean(page)
        assert IMG in page_text(page)  # the inspector names the selected neuron, as text
        after = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        assert set(after) <= set(before) | {NOTEBOOK}, after  # nothing written through the server's API
        assert any("<img src=x onerror=__xss(8)>rare" in t for t in toasts), toasts
    finally:
        ctx.close()
