"""Follow mode in the browser (issue 20): a class watches the teacher's run (``pytest -m browser``).

The teacher shares the run live; a viewer's page opened on the link follows it (the epoch
advances, the diagram changes), has no control that could change it, and is told when the
teacher's tab closes, keeping its last picture.
"""

from __future__ import annotations

import pytest

from test_browser import HEART, click, epoch, strip_text, toast, wait_epoch

pytestmark = pytest.mark.browser

EDGES_JS = "() => Array.from(Bokeh.documents[0].get_model_by_name('diagram-edges').data.w).map(v => v.toFixed(5)).join(',')"
CONTROLS = ("Play", "▶ Play", "Pause", "Step", "Cycle now", "Reset", "Share live", "Copy link", "Run experiment")


def open_viewer(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator(".gl-strip.gl-live").wait_for()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('diagram-edges') !== null")  # fmt: skip
    return ctx, page


def wait_viewer_epoch(page, above: int) -> int:
    return wait_epoch(page, above + 1)


def test_a_viewer_follows_the_teachers_run_cannot_change_it_and_is_told_when_it_ends(browser, server, open_page):
    teacher = open_page(HEART)
    click(teacher, "Share live")
    link = teacher.locator(".gl-follow-url input")
    link.wait_for()
    url = link.input_value()
    assert "?follow=" in url and url.startswith(server.url.rstrip("/")), url
    ctx, viewer = open_viewer(browser, url)
    try:
        server.wait_status(lambda s: s["viewers"] >= 1 and s["shared"] >= 1)
        teacher.locator(".gl-watching", has_text="1 watching").wait_for()
        viewer.locator(".gl-follow").get_by_text("Following the teacher's run live").wait_for()
        for label in CONTROLS:  # nothing on the viewer's page can drive a run
            assert viewer.get_by_role("button", name=label, exact=True).count() == 0, label
        assert viewer.locator("select, input[type=file], .gl-arch").count() == 0

        click(teacher, "Play")
        first = wait_viewer_epoch(viewer, 2)
        before = viewer.evaluate(EDGES_JS)
        later = wait_viewer_epoch(viewer, first + 5)
        viewer.wait_for_function(f"() => ({EDGES_JS})() !== {before!r}")  # the diagram follows the training
        assert later > first

        # the viewer's own page: its keys, clicks and tabs leave the teacher's run as it is
        viewer.locator(".bk-Canvas").first.click(position={"x": 200, "y": 200})
        viewer.keyboard.press("Space")
        viewer.get_by_text("False starts & redundancy").click()
        prune = viewer.get_by_role("button", name="Prune redundant paths")
        assert prune.is_disabled()
        t = epoch(teacher)
        wait_epoch(teacher, t + 3)
        assert strip_text(teacher).startswith("Training")
        assert viewer.url.endswith(url[url.index("?"):])  # the address bar still follows (a reload follows again)

        # the teacher's tab closes: its session ends, the viewer is told and keeps its picture
        click(teacher, "❚❚ Pause")
        teacher.get_by_role("button", name="▶ Play", exact=True).wait_for()
        last = epoch(teacher)
        teacher.context.close()
        toast(viewer, "The teacher's run has ended")
        viewer.locator(".gl-follow-ended").wait_for()
        picture = viewer.evaluate(EDGES_JS)
        final = epoch(viewer)
        assert picture and final >= last  # the run's last epoch (it paused after the tick under way)
        server.wait_status(lambda s: s["shared"] == 0)
        viewer.wait_for_timeout(1500)
        assert viewer.evaluate(EDGES_JS) == picture and epoch(viewer) == final
    finally:
        ctx.close()


def test_a_follow_link_to_no_run_says_so(browser, server):
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(server.url + "?follow=no-such-token")
        page.locator(".gl-follow-missing").get_by_text("does not lead to a run").wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Play", exact=True).count() == 0
    finally:
        ctx.close()
