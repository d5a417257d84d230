"""The diagram, inspector and boundary as a person sees them: served alone, shot with Chromium.

Screenshots go to ``artifacts/`` (git-ignored): ``diagram_heart.png`` (27-16-8-1 dense),
``diagram_sparse.png`` (grown, pruned, redundant, focal, ε-useless, dormant),
``diagram_lenet.png`` (LeNet-300-100 on mnist5k under the edge budget, inputs as a 28×28
map), ``diagram_hover.png``, ``inspector.png`` and ``boundary_moons.png``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import panel as pn
import pytest

import diagram_cases as dc
from growlab.ui.boundary import DecisionBoundary
from growlab.ui.diagram import NetworkDiagram
from growlab.ui.inspector import Inspector
from growlab.ui.serve import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# page coordinates of a data point of a Bokeh figure (found by its model id)
TO_PAGE = """([id, x, y]) => {
  let pv = null; const seen = new Set();
  const visit = (v) => { if (!v || seen.has(v)) return; seen.add(v); if (v.model && v.model.id == id) pv = v;
    for (const c of (v.child_views ?? [])) visit(c); };
  for (const v of Bokeh.index) visit(v);
  const r = pv.canvas_view.el.getBoundingClientRect();
  return [r.left + pv.frame.x_scale.compute(x), r.top + pv.frame.y_scale.compute(y)];
}"""


@pytest.fixture(scope="module")
def served():
    """Pages of one view each, served on a free loopback port; ``views[page]`` are the live views."""
    _, sparse, info = dc.heart_sparse()
    snaps = {"heart": dc.heart_dense()[1], "sparse": sparse, "lenet": dc.mnist_lenet()[1]}
    moons = dc.moons()[1]
    views: dict[str, object] = {}

    def diagram_page(name):
        def page():
            d = NetworkDiagram(height=600)
            d.update(snaps[name])
            views[name] = d
            return pn.Column(d, width=1200)

        return page

    def inspector_page():
        d = NetworkDiagram(height=600)
        ins = Inspector(diagram=d)
        d.update(sparse), ins.update(sparse)
        t, s = np.argwhere(info["grown"])[1]
        d.selected = {"kind": "edge", "layer": 0, "source": int(s), "target": int(t)}
        views["inspector"] = d
        return pn.Row(pn.Column(d, width=760), pn.Column(ins, width=430))

    def boundary_page():
        b = DecisionBoundary(height=460)
        b.update(moons)
        views["boundary"] = b
        return pn.Column(b, width=560)

    pages = {name: diagram_page(name) for name in snaps}
    pages.update(inspector=inspector_page, boundary=boundary_page)
    port = free_port()
    server = pn.serve(pages, port=port, address="127.0.0.1", show=False, threaded=True, start=True)
    yield f"http://127.0.0.1:{port}", views, snaps
    server.stop()


def open_view(browser, url: str, name: str, width: int = 1240, height: int = 780):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/{name}")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    page.locator(".bk-Canvas").first.wait_for(state="attached")
    time.sleep(2.0)  # WebGL draws and the browser reports the frame size (the diagram re-lays out)
    return page


def rows(page, name: str, column: str) -> int:
    return page.evaluate(f"() => Bokeh.documents[0].get_model_by_name('{name}').data.{column}.length")


@pytest.mark.parametrize("name", ["heart", "sparse", "lenet"])
def test_diagram_renders(browser, served, name):
    url, views, snaps = served
    page = open_view(browser, url, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"diagram_{name}.png"), full_page=True)
    d = views[name]
    assert rows(page, "diagram-edges", "x0") == len(d.sources["edges"].data["x0"]) > 0
    drawn = len(d.sources["edges"].data["x0"]) + len(d.sources["redundant"].data["x0"])
    active = sum(int(m.sum()) for m in snaps[name].masks)
    assert drawn == min(active, d.edge_budget - len(d.sources["ghosts"].data["x0"]))
    if name == "lenet":
        assert rows(page, "diagram-map", "image") == 1 and "showing" in d.note.text
    page.close()


def test_hover_names_the_neuron_and_a_click_selects_an_edge(browser, served):
    url, views, _ = served
    page = open_view(browser, url, "heart")
    d = views["heart"]
    lay, fid = d.layout, d.figure.id
    page.mouse.move(*page.evaluate(TO_PAGE, [fid, float(lay.xs[-1][0]), float(lay.ys[-1][0])]))
    page.get_by_text("P(disease) · output").wait_for()
    e = d.sources["edges"].data
    i = int(np.argmax(e["width"]))
    mid = [fid, float((e["x0"][i] + e["x1"][i]) / 2), float((e["y0"][i] + e["y1"][i]) / 2)]
    page.mouse.move(*page.evaluate(TO_PAGE, mid))
    page.get_by_text("born in epoch").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "diagram_hover.png"))
    page.mouse.click(*page.evaluate(TO_PAGE, mid))
    deadline = time.monotonic() + 10
    while d.selected is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert d.selected is not None and d.selected["kind"] == "edge"
    page.close()


def test_inspector_and_boundary_render(browser, served):
    url, views, _ = served
    page = open_view(browser, url, "inspector", width=1240, height=1000)
    assert rows(page, "inspector-history", "epoch") >= 1
    page.get_by_text("test: random").first.wait_for()  # the grow event in the events table
    page.screenshot(path=str(ARTIFACTS / "inspector.png"), full_page=True)
    page.close()
    page = open_view(browser, url, "boundary", width=620, height=560)
    assert rows(page, "boundary-grid", "image") == 1 and rows(page, "boundary-train", "x") > 0
    page.screenshot(path=str(ARTIFACTS / "boundary_moons.png"), full_page=True)
    page.close()
