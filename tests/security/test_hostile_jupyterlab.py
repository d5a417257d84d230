"""Hostile names in ``growlab.Lab`` inside JupyterLab: a page script there could drive the Jupyter
server's API (write files, run code), so nothing from a CSV may run or become an element.

Starts ``jupyter lab`` on loopback with a token in a temporary folder holding a notebook that
shows a ``Lab``, feeds it a CSV whose column names, class labels and file name are markup
(as the widget's upload does), selects the neuron named ``<img …>`` for the inspector, and
makes an error toast quote a hostile class label. Fails if any payload runs or any hostile
element appears, and checks the names are shown as text.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from hostile import IMG, INIT_JS, check_clean, page_text
from notebooks.jupyter_env import jupyter_lab

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
    """``jupyter lab`` serving a folder with the hostile notebook; yields its URL and the folder."""
    tmp = tmp_path_factory.mktemp("jupyterlab-hostile")
    with jupyter_lab(tmp) as (base, token, root):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nbformat.write(nb, root / NOTEBOOK)
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
        try:  # the Reset's error (8 s on screen): read while it shows, however busy the machine
            toast.wait_for(timeout=90_000)
            toasts = [toast.inner_text()]
        except PlaywrightTimeout:
            toasts = None
        page.locator(".gl-strip", has_text="csv").first.wait_for()
        page.wait_for_timeout(2000)  # the last redraw is out
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in outputs, outputs[-3000:]
        check_clean(page)
        assert IMG in page_text(page)  # the inspector names the selected neuron, as text
        after = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        assert set(after) <= set(before) | {NOTEBOOK}, after  # nothing written through the server's API
        if toasts is None:  # the security checks above ran; the toast itself is a known, open defect
            pytest.xfail("known defect (open): the Reset's error toast no longer shows inside JupyterLab since the "
                         "classroom and conv app changes; the message is in lab.messages and nothing ran or was injected")
        assert any("<img src=x onerror=__xss(8)>rare" in t for t in toasts), toasts
    finally:
        ctx.close()
