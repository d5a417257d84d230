"""Side by side in the served app: run a small grid, pick two members, move the epoch (Chromium)."""

from __future__ import annotations

import re

import pytest

from tests.ui.test_compare_browser import SHOTS

pytestmark = pytest.mark.browser

FRESH = ("() => Array.from(Bokeh.documents[0].all_models).filter(m => m.name == 'diagram-fresh')"
         ".map(m => m.data.x0.length)")  # fmt: skip
CURSOR = "() => Bokeh.documents[0].get_model_by_name('growlab-jaccard-cursor').location"


def test_pick_two_members_of_a_grid_and_see_them_side_by_side(open_page):
    page = open_page("dataset=heart&arch=16-8&epochs=50", width=1440, height=900)
    page.locator(".bk-tab", has_text="Compare").click()
    box = page.locator(".gl-compare-epochs input")
    box.fill("40")
    box.press("Enter")
    seeds = page.locator(".noUi-handle").last  # the Seeds slider is the tab's last
    seeds.focus()
    for _ in range(8):  # 10 → 2 seeds
        seeds.press("ArrowLeft")
    page.get_by_text("Seeds: 2").first.wait_for()
    page.get_by_role("button", name="Run experiment").click()
    page.get_by_text(re.compile(r"Finished in [\d.]+ s")).first.wait_for(timeout=240_000)
    pair = page.locator(".gl-pair")
    pair.wait_for()
    a = pair.locator(".gl-pair-a select")
    b = pair.locator(".gl-pair-b select")
    labels = a.locator("option").all_inner_texts()
    assert len(labels) == 42  # 7 methods × 3 thresholds × 2 seeds
    picked = a.evaluate("s => s.options[s.selectedIndex].text"), b.evaluate("s => s.options[s.selectedIndex].text")
    assert picked[0] != picked[1]
    # two methods of one seed: pick them by their labels
    a.select_option(label=next(t for t in labels if t.startswith("random · 90% · seed 0")))
    b.select_option(label=next(t for t in labels if t.startswith("strategic+prune · 90% · seed 0")))
    pair.get_by_role("button", name="Show side by side").click()
    summary = pair.locator(".growlab-compare-summary", has_text="Epoch 40: Jaccard similarity")
    summary.wait_for(timeout=120_000)
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('growlab-jaccard') !== null")
    assert page.evaluate("() => Bokeh.documents[0].get_model_by_name('growlab-jaccard').data.epoch.length") == 41
    counts = page.evaluate(FRESH)  # the app's own diagram, then the two runs'
    assert len(counts) == 3 and sum(n > 0 for n in counts[1:]) == 2  # each run's own connections, highlighted
    for name in ("random · 90% · seed 0", "strategic+prune · 90% · seed 0"):
        pair.locator(".growlab-pair-caption", has_text=name).wait_for()
    for _ in range(3):
        pair.get_by_role("button", name="◀", exact=True).click()
    page.wait_for_function(f"() => ({CURSOR})() == 37")
    pair.locator(".growlab-compare-summary", has_text="Epoch 37: Jaccard similarity").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    summary = pair.locator(".growlab-compare-summary")
    pair.locator(".bk-btn", has_text="Show side by side").scroll_into_view_if_needed()
    page.mouse.wheel(0, 120)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "compare-side-by-side-1440.png"))
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(800)
    pair.locator(".bk-btn", has_text="Show side by side").scroll_into_view_if_needed()
    page.mouse.wheel(0, 120)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "compare-side-by-side-1280.png"))
    summary.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "compare-side-by-side-1280-jaccard.png"))
