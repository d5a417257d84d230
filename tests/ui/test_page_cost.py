"""What a served page builds when it loads: only what it shows (issue 20, a class on one server).

Building a page's Bokeh models is what a page load costs the server's one event loop (about a
millisecond of CPU per model); a class of 30 viewers arriving together pays it 30 times. So a
served page (``lazy_tabs``) builds a tab's page when the tab is first opened, the inspector's
plot on the first selection, the decision boundary with the first 2-D snapshot and the
feature-map strips with the first conv snapshot; a viewer's page has no controls at all.
"""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document

from growlab.run.slots import TrainingSlots
from growlab.ui.app import GrowlabApp
from growlab.ui.follow import FollowApp, FollowHub, ReadOnlyRunner, ViewerSession
from growlab.ui.model import TABS, SessionModel
from growlab.ui.session import Session

#: Most Bokeh models in a fresh served page's document (heart 16-8, the app without its template).
#: Measured: 678 for a trainer's page and 469 for a viewer's; 1,011 and 693 with the hidden parts built.
MAX_MODELS = {"trainer": 800, "viewer": 550}


@pytest.fixture(scope="module")
def pages():
    """A trainer's served page and a viewer's of the same run, each in a document of its own."""
    model = SessionModel()
    model.apply_query({"dataset": "heart", "arch": "16-8", "method": "strategic+prune"})
    trainer = GrowlabApp(session=Session(model=model, slots=TrainingSlots(2)), lazy_tabs=True)
    share = FollowHub().share(trainer.session.runner)
    viewer = FollowApp(session=ViewerSession(model=SessionModel(), runner=ReadOnlyRunner(share.runner)), followed=share,
                       lazy_tabs=True)  # fmt: skip
    docs = {}
    for name, app in (("trainer", trainer), ("viewer", viewer)):
        docs[name] = Document()
        pn.panel(app).server_doc(docs[name])
    yield {"trainer": trainer, "viewer": viewer}, docs
    trainer.close()


def names(doc: Document) -> set:
    return {m.name for m in doc.models if m.name}


def labels(doc: Document) -> set:
    return {m.label for m in doc.models if isinstance(getattr(m, "label", None), str)}


@pytest.mark.parametrize("kind", ["trainer", "viewer"])
def test_a_fresh_page_builds_no_hidden_figure(pages, kind):
    apps, docs = pages
    app, doc = apps[kind], docs[kind]
    assert len(doc.models) <= MAX_MODELS[kind]
    assert app.inspector.figure is None and "inspector-history" not in names(doc)  # nothing selected yet
    assert app.inspector.kernel_fig is None and app.inspector.map_fig is None
    assert app.boundary.figure is None and app.side_boundary.figure is None  # heart has no 2-D boundary
    assert app.diagram.maps.figure is None and app.side_maps.figure is None  # nor conv layers
    assert "diagram-edges" in names(doc) and "growlab-curves" in names(doc)  # what it shows is there
    kinds = {type(m).__name__ for m in doc.models}
    assert "DataTabulator" not in kinds and app.events._table is None  # neither the Events tab's table nor the inspector's
    assert "Run experiment" not in labels(doc)  # nor the Compare tab's controls


def test_a_viewer_builds_no_controls(pages):
    apps, _ = pages
    viewer = apps["viewer"]
    assert viewer.sidebar is viewer.compare is viewer.export is viewer.projector is None
    assert viewer.false_starts.button.disabled  # the viewer's own false-starts view: pruning is the teacher's


def test_what_is_opened_is_built_then(pages):
    apps, docs = pages
    app, doc = apps["trainer"], docs["trainer"]
    app.tabs.active = TABS.index("compare")
    assert "Run experiment" in labels(doc)  # the Compare tab's controls, sent when it was opened
    app.tabs.active = 0
    snap = app.session.runner.snapshot
    t, s = (int(i[0]) for i in snap.masks[0].nonzero())  # an active connection
    app.diagram.selected = {"kind": "edge", "layer": 0, "source": s, "target": t}
    assert app.inspector.figure is not None and app.inspector.plot.visible
    assert "inspector-history" in names(doc)  # the history plot joined the page's document
