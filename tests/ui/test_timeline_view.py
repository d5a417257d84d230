"""The timeline bar and ``lab.show(epoch=…)`` without a browser (the browser test is below)."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest

from growlab.ui.lab import Lab

SETUP = {"dataset": "heart", "arch": "16-8", "method": "random+prune", "epochs": 30, "seed": 0}


pytestmark = pytest.mark.usefixtures("restore_panel_config")


@pytest.fixture
def lab():
    lab = Lab(**SETUP)
    yield lab
    lab.close()


def _edges(app) -> int:
    return int(sum(m.sum() for m in app.diagram.snapshot.masks))


def test_scrubbing_shows_the_past_and_never_disturbs_the_run(lab):
    lab.step(8)
    app = lab.app
    live_edges = _edges(app)
    snap = lab.show(epoch=2)
    assert snap.epoch == 2 and app.diagram.snapshot.epoch == 2 and app.timeline.viewing == 2
    assert _edges(app) == int(sum(m.sum() for m in lab.run.at(2).masks)) != live_edges
    assert all(c.visible and c.location == 2 for c in app.curves.cursors)
    assert "Epoch 2" in app.timeline.label.object and "Epoch 2:" in app.timeline.events.object
    lab.step(3)  # the run trains on; the diagram stays on epoch 2
    assert lab.epoch == 11 and app.diagram.snapshot.epoch == 2 and app.timeline.slider.end == 11
    app.timeline.back.clicks += 1  # ◀: one epoch back
    assert app.diagram.snapshot.epoch == 1 and app.timeline.slider.value == 1
    app.timeline.slider.value = 6  # dragging the slider
    assert app.diagram.snapshot.epoch == 6 and all(c.location == 6 for c in app.curves.cursors)
    app.timeline.live.clicks += 1
    assert app.timeline.viewing is None and app.diagram.snapshot.epoch == 11
    assert not any(c.visible for c in app.curves.cursors) and "Live" in app.timeline.label.object
    np.testing.assert_array_equal(lab.history["epoch"], np.arange(1, 12))  # nothing undone or retrained


def test_show_refuses_epochs_not_trained_and_returns_to_live(lab):
    lab.step(3)
    for bad in (4, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="epoch must be a whole number in 0..3"):
            lab.show(epoch=bad)
    lab.show(epoch=1)
    assert lab.show().epoch == 3 and lab.app.timeline.viewing is None and lab.app.diagram.snapshot.epoch == 3


def test_the_forward_button_reaching_the_latest_epoch_goes_live(lab):
    lab.step(4)
    lab.show(epoch=3)
    lab.app.timeline.forward.clicks += 1
    assert lab.app.timeline.viewing is None and lab.app.diagram.snapshot.epoch == 4


def test_the_export_tab_records_the_run_as_a_gif(lab):
    from PIL import Image

    export = lab.app.export
    lab.step(5)
    assert not export.animation.visible  # nothing to download before it is recorded
    assert export.record()  # without a served page: at once
    data = export._animation().getvalue()
    assert data[:6] == b"GIF89a"
    import io

    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == 6  # epochs 0..5
    assert export.animation.visible and export.animation.filename.endswith("-epoch5-life.gif")
    assert "MB)" in export.animation.label and "Recorded 6 frames" in export.record_note.object
    assert not export.recording.visible and not export.record_button.disabled
    export._frame(3, 10)  # what the recording thread reports; the poll shows it (the bar's max grows first)
    export._show_progress()
    assert (export.recording.value, export.recording.max) == (3, 10) and "frame 3 of 10" in export.record_note.object



def test_compare_puts_two_runs_side_by_side_with_their_differences(lab):
    from growlab import Run

    lab.step(8)
    other = Run(**{**SETUP, "seed": 1})
    other.run(epochs=6)
    view = lab.compare(other)
    assert view.table["epoch"].tolist() == list(range(7))  # the epochs both have
    a, b = lab.run.at(5), other.at(5)
    both = sum(int((x & y).sum()) for x, y in zip(a.masks, b.masks))
    either = sum(int((x | y).sum()) for x, y in zip(a.masks, b.masks))
    row = view.table.set_index("epoch").loc[5]
    assert row["jaccard"] == pytest.approx(both / either) and 0 < row["jaccard"] < 1
    view.show(5)
    mine, theirs = (d.snapshot for d in view.diagrams)
    assert mine.epoch == theirs.epoch == 5 and view.cursor.location == 5
    assert len(mine.recent) == row["only_a"] > 0 and len(theirs.recent) == row["only_b"] > 0
    assert set(mine.recent["cause"]) == {"only in this run"}
    assert "Jaccard similarity <b>" in view.summary.object
    assert lab.app.diagram.snapshot.epoch == 8  # the lab's own view is untouched
    same = lab.compare(_trained(SETUP, 8))  # the same setup: the same structure at every epoch
    assert (same.table["jaccard"] == 1.0).all() and same.diagrams[0].snapshot.recent.empty


def _trained(setup, epochs):
    from growlab import Run

    run = Run(**setup)
    run.run(epochs=epochs)
    return run


# ---------------------------------------------------------------------------------- browser
HEART = "dataset=heart&arch=16-8&method=strategic%2Bprune&epochs=3000"


@pytest.mark.browser
def test_scrub_back_in_the_browser_and_return_to_live(open_page):
    from tests.ui.test_browser import click, epoch, model_data, shot

    page = open_page(HEART, width=1440, height=900)
    for i in range(1, 7):
        click(page, "Step")
        page.wait_for_function(
            f"() => Bokeh.documents[0].get_model_by_name('growlab-curves').data.epoch.length == {i}")
    assert epoch(page) == 6
    live = model_data(page, "diagram-edges", "w")
    cursor = "() => { const c = Bokeh.documents[0].get_model_by_name('growlab-cursor'); return [c.visible, c.location]; }"
    assert page.evaluate(cursor)[0] is False
    for _ in range(5):  # ◀ five times: epoch 1
        click(page, "◀")
    page.wait_for_function("() => { const c = Bokeh.documents[0].get_model_by_name('growlab-cursor');"
                           " return c.visible && c.location == 1; }")  # fmt: skip
    page.locator(".growlab-timeline-label", has_text="Epoch 1 of 6").wait_for()
    page.locator(".growlab-timeline-events", has_text="Epoch 1:").wait_for()
    assert model_data(page, "diagram-edges", "w") != live
    shot(page, "timeline-scrubbed-1440")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(500)
    shot(page, "timeline-scrubbed-1280")
    click(page, "Replay")  # plays epochs 1 → 6 and stops there
    page.locator(".growlab-timeline-label", has_text="Epoch 6 of 6").wait_for()
    page.get_by_role("button", name="Replay", exact=True).wait_for()
    click(page, "● Live")
    page.wait_for_function("() => !Bokeh.documents[0].get_model_by_name('growlab-cursor').visible")
    page.locator(".growlab-timeline-label", has_text="Live").wait_for()
    page.wait_for_function("w => JSON.stringify(Array.from(Bokeh.documents[0].get_model_by_name('diagram-edges')"
                           ".data.w)) == JSON.stringify(w)", arg=live)  # fmt: skip
    assert epoch(page) == 6  # scrubbing never moved the run


@pytest.mark.browser
def test_side_by_side_in_the_browser_highlights_differences(browser):
    import time

    from growlab.run.snapshot import snapshot_of
    from growlab.ui.serve import free_port
    from growlab.ui.timeline import SideBySide
    from tests.ui.test_browser import shot

    a, b = _trained(SETUP, 10), _trained({**SETUP, "seed": 1}, 10)
    views = {}

    def page():
        views["v"] = SideBySide((a, snapshot_of(a)), (b, snapshot_of(b)))
        return pn.Column(views["v"], width=1400)

    port = free_port()
    server = pn.serve({"compare": page}, port=port, address="127.0.0.1", show=False, threaded=True, start=True)
    try:
        p = browser.new_page(viewport={"width": 1440, "height": 900})
        p.set_default_timeout(60_000)
        p.goto(f"http://127.0.0.1:{port}/compare")
        p.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                            "Bokeh.documents[0].get_model_by_name('growlab-jaccard') !== null")  # fmt: skip
        time.sleep(1.5)
        fresh = ("() => Array.from(Bokeh.documents[0].all_models).filter(m => m.name == 'diagram-fresh')"
                 ".map(m => m.data.x0.length)")  # fmt: skip
        counts = p.evaluate(fresh)
        assert len(counts) == 2 and all(n > 0 for n in counts)  # each run's own connections, highlighted
        assert p.evaluate("() => Bokeh.documents[0].get_model_by_name('growlab-jaccard').data.epoch.length") == 11
        p.locator(".growlab-compare-summary", has_text="Epoch 10: Jaccard similarity").wait_for()
        for _ in range(3):
            p.get_by_role("button", name="◀", exact=True).click()
        p.wait_for_function("() => Bokeh.documents[0].get_model_by_name('growlab-jaccard-cursor').location == 7")
        p.locator(".growlab-compare-summary", has_text="Epoch 7: Jaccard similarity").wait_for()
        shot(p, "timeline-side-by-side-1440")
        p.close()
    finally:
        server.stop()


def test_scrubbing_a_conv_run_shows_its_channel_graph_and_maps_of_that_epoch():
    lab = Lab(dataset="digits", arch="c4k3-p2-16", method="gradient+prune", epochs=10, seed=2, batch_size=400,
              interval=2)  # fmt: skip
    try:
        lab.step(4)
        live = lab.app.diagram.snapshot
        past = lab.show(epoch=1)
        shown = lab.app.diagram.snapshot
        assert shown.epoch == 1 and [m.shape for m in shown.masks] == [m.shape for m in live.masks]
        assert not np.array_equal(shown.extra["conv"]["features"][0], live.extra["conv"]["features"][0])
        assert past.extra["conv"]["n_conv"] == 1 and lab.app.timeline.viewing == 1
        lab.show()  # back to live
        assert lab.app.diagram.snapshot.epoch == 4
    finally:
        lab.close()
