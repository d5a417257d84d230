"""The Compare tab in the served app, driven by Chromium (``pytest -m browser``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


def shot(page, name: str) -> None:
    """A screenshot under ``artifacts/ui/`` (git-ignored), to look at what the test saw."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_compare_runs_an_experiment_with_progress_and_shows_tables_and_plots(open_page):
    page = open_page("dataset=xor&arch=4&epochs=50")
    page.locator(".bk-tab", has_text="Compare").click()
    box = page.locator(".gl-compare-epochs input")
    box.fill("40")
    box.press("Enter")
    run = page.get_by_role("button", name="Run experiment")
    run.scroll_into_view_if_needed()
    run.click()
    page.get_by_text(re.compile(r"of [\d,]+ member-epochs")).first.wait_for(timeout=60_000)  # live progress
    page.locator(".bk-tab", has_text="Compare").scroll_into_view_if_needed()
    page.mouse.wheel(0, 400)
    shot(page, "compare-running")
    page.get_by_text(re.compile(r"Finished in [\d.]+ s")).first.wait_for(timeout=240_000)
    page.get_by_text(re.compile(r"210 members")).first.wait_for()  # 7 methods × 3 thresholds × 10 seeds
    page.locator(".bk-tab", has_text="Max accuracy (Table 2)").click()
    table = page.locator("table", has_text="strategic+prune").filter(has_text="99%")
    table.first.wait_for()
    assert "80%" in table.first.inner_text()
    shot(page, "compare-finished")
    titles = page.evaluate("""() => Bokeh.documents.flatMap(d => Array.from(d.all_models))
                                 .filter(m => m.type === "Title").map(m => String(m.text))""")
    assert any(t.startswith("Final validation accuracy (%) of every member") for t in titles), titles  # Fig. 5
    assert any(t.startswith("Similarity of representative networks") for t in titles)  # Fig. 6
