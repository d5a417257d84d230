"""The quickstart in JupyterLab, driven by Debian's Chromium (``pytest -m browser``).

Starts ``jupyter lab`` on loopback with a token, in a temporary copy of
``notebooks/01-quickstart.ipynb`` and temporary Jupyter settings (no workspace state, no news
or update checks), opens the notebook, runs all cells from the Run menu and checks that the
app renders in the output — a Bokeh canvas whose diagram has edges — and that it changes as
training proceeds. Screenshots: ``artifacts/jupyterlab.png`` (the app under the cell that
displays ``lab``) and ``artifacts/jupyterlab-widget.png`` (``lab.widget()`` in an ipywidgets VBox).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import urllib.request

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from growlab.ui.serve import free_port

from jupyter_env import ARTIFACTS, NOTEBOOKS, kernel_env, write_kernel_spec
from serving import serving

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.slow]

NOTEBOOK = "01-quickstart.ipynb"
EPOCHS = 60  # the quickstart's epochs under GROWLAB_QUICK=1
START_S, RUN_S = 120.0, 420.0
#: The diagram's edges in whichever Bokeh document (one per output) holds them.
EDGES_JS = """() => {
  if (!window.Bokeh) return null;
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name('diagram-edges');
    if (m !== null && m.data.x0.length > 0) return Array.from(m.data.w);
  }
  return null;
}"""


#: Rows drawn by each diagram in the page: edges, redundant edges, pruned ghosts.
DIAGRAMS_JS = """Bokeh.documents.map(d => ['edges', 'redundant', 'ghosts'].map(n => d.get_model_by_name('diagram-' + n)))
  .filter(ms => ms[0] !== null).map(ms => ms.map(m => m.data.x0.length))"""


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """``jupyter lab`` on a free loopback port with a token; yields the notebook's URL."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root, data, settings = tmp / "root", tmp / "data", tmp / "settings"
    root.mkdir()
    shutil.copy(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    write_kernel_spec(data)  # python3 = this interpreter, whatever else the machine has
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
    with serving(cmd, ready, tmp / "jupyterlab.log", what="jupyter lab", start_s=START_S, cwd=root, env=env, poll_s=0.5, stop_s=20):
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}"


def epoch_shown(page) -> tuple[int, int]:
    """``(epoch, epochs)`` from the app's status strip."""
    text = page.locator(".gl-strip").first.text_content()
    found = re.search(r"epoch\s*(\d+)\s*/\s*(\d+)", text, re.IGNORECASE)
    assert found, f"no epoch in the status strip: {text!r}"
    return int(found.group(1)), int(found.group(2))


def test_quickstart_runs_in_jupyterlab_and_the_app_trains(browser, jupyter_lab):
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.set_default_timeout(RUN_S * 1000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(jupyter_lab)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        page.wait_for_function("() => /Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        # the app appears in the output: a Bokeh canvas, the diagram with edges, the status strip
        first_edges = page.wait_for_function(EDGES_JS).json_value()
        page.locator(".jp-OutputArea-output canvas").first.wait_for()
        page.locator(".gl-strip").first.wait_for()
        first_epoch, epochs = epoch_shown(page)
        assert epochs == EPOCHS and len(first_edges) > 0

        # training moves it on: the strip reaches the last epoch and the diagram's weights change
        finished = re.compile(rf"Finished.*epoch\s*{EPOCHS}\s*/\s*{EPOCHS}", re.IGNORECASE | re.DOTALL)
        expect(page.locator(".gl-strip").first).to_have_text(finished, timeout=RUN_S * 1000)
        assert first_epoch < EPOCHS
        assert page.evaluate(EDGES_JS) != first_edges
        # the inline app and lab.widget() show one run: every update reached both
        same = f"(d => d.length === 2 && JSON.stringify(d[0]) === JSON.stringify(d[1]))({DIAGRAMS_JS})"
        try:
            page.wait_for_function(same, timeout=60_000)
        except PlaywrightTimeout:
            pytest.fail(f"the two views of the run differ (edges, redundant, ghosts): {page.evaluate(DIAGRAMS_JS)}")

        # every cell ran, and none failed
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
            ".every(p => /\\[\\d+\\]/.test(p.textContent))"
        )
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in outputs, outputs[-3000:]
        assert not errors, errors

        ARTIFACTS.mkdir(exist_ok=True)
        for strip, name in ((page.locator(".gl-strip").first, "jupyterlab"), (page.locator(".gl-strip").last, "jupyterlab-widget")):
            strip.evaluate("e => e.scrollIntoView({block: 'start'})")  # the app at the top of the notebook panel
            page.wait_for_timeout(1000)  # let the last frame paint (WebGL)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    except Exception:
        (ARTIFACTS / "ui" / "failures").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui" / "failures" / "jupyterlab.png"))
        raise
    finally:
        page.close()
