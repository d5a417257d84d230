"""The quickstart in JupyterLab, driven by Debian's Chromium (``pytest -m browser``).

Starts ``jupyter lab`` on loopback with a token, in a temporary copy of
``notebooks/01-quickstart.ipynb`` and temporary Jupyter settings (no workspace state, no news
or update checks), opens the notebook, runs all cells from the Run menu and checks that the
app renders in the output — a Bokeh canvas whose diagram has edges — and that it changes as
training proceeds. Screenshots: ``artifacts/jupyterlab.png`` (the app under the cell that
displays ``lab``) and ``artifacts/jupyterlab-widget.png`` (``lab.widget()`` in an ipywidgets VBox).
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect


import jupyter_env
from jupyter_env import ARTIFACTS, NOTEBOOKS

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
    """``jupyter lab`` serving a copy of the quickstart; yields the notebook's URL."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    with jupyter_env.jupyter_lab(tmp, START_S) as (base, token, root):
        shutil.copy(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
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
