"""What a person sees: the served app driven by Chromium (``pytest -m browser``).

Each test loads the app with a small setup from the URL (2-D toys train fast), acts like a
user and checks the page; screenshots land in ``artifacts/ui/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

FAST = "dataset=xor&arch=6-4&epochs=3000"
STRATEGIC = "dataset=moons&arch=6-4&method=strategic%2Bprune&sparsity=0.5&epochs=3000"
HEART = "dataset=heart&arch=16-8&method=strategic%2Bprune&epochs=3000"  # many inputs: pruned edges stay pruned


SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under ``artifacts/ui/`` (git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def strip_text(page) -> str:
    return page.locator(".gl-strip").first.text_content()


def epoch(page) -> int:
    return int(re.search(r"epoch\s*(\d+)\s*/", strip_text(page)).group(1))


def wait_epoch(page, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while (e := epoch(page)) < at_least:
        assert time.monotonic() < deadline, f"stuck at epoch {e}"
        page.wait_for_timeout(200)
    return e


def model_data(page, name: str, column: str) -> list | None:
    """A column of a named Bokeh ColumnDataSource in the page (None if there is no such source)."""
    return page.evaluate(
        """([name, col]) => { const m = Bokeh.documents[0].get_model_by_name(name);
             return m === null ? null : Array.from(m.data[col] ?? []); }""",
        [name, column],
    )


def badge(page) -> str:
    return page.locator(".gl-badge").first.text_content()


def toast(page, text: str):
    loc = page.locator(".notyf__message", has_text=text)
    loc.first.wait_for(timeout=30_000)
    return loc.first


def click(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def test_play_advances_and_pause_stops(open_page):
    page = open_page(FAST)
    assert badge(page) == "Ready" and epoch(page) == 0
    shot(page, "01-loaded")
    click(page, "Play")
    wait_epoch(page, 5)
    assert badge(page) == "Training"
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('growlab-curves').data.epoch.length >= 5")
    click(page, "Pause")
    page.locator(".gl-badge", has_text="Paused").wait_for()
    stopped = epoch(page)
    page.wait_for_timeout(1500)  # a running session would have drawn several epochs by now
    assert epoch(page) == stopped
    assert len(model_data(page, "growlab-curves", "epoch")) == stopped
    click(page, "Step")
    page.wait_for_function(f"() => Bokeh.documents[0].get_model_by_name('growlab-curves').data.epoch.length == {stopped + 1}")
    assert epoch(page) == stopped + 1
    shot(page, "02-paused")


def test_diagram_changes_and_shows_grown_and_pruned_edges(open_page):
    page = open_page(HEART)
    if model_data(page, "diagram-edges", "w") is None:
        pytest.skip("the diagram's sources are not named (see growlab/ui/INTERFACE.md)")
    before = model_data(page, "diagram-edges", "w")
    click(page, "Play")
    wait_epoch(page, 6)
    rows = "name => Bokeh.documents[0].get_model_by_name(name).data.x0.length > 0"
    page.wait_for_function(rows, arg="diagram-ghosts")  # pruned: red ghosts
    page.wait_for_function(rows, arg="diagram-fresh")  # grown: green
    assert model_data(page, "diagram-edges", "w") != before
    click(page, "Pause")
    shot(page, "03-strategic-prune")


def test_a_slider_moved_mid_run_is_an_event_and_a_marker(open_page):
    page = open_page(STRATEGIC)
    click(page, "Play")
    wait_epoch(page, 3)
    box = page.locator(".gl-param-sigma input").first
    box.fill("2.5")
    box.press("Enter")
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('growlab-markers').data.epoch.length >= 1")
    click(page, "Pause")
    page.locator(".bk-tab", has_text="Events").click()
    table = page.locator(".gl-events")
    table.locator(".tabulator-row").first.wait_for()  # the waiting events have arrived
    search = table.get_by_placeholder("search")  # the table's own filter on the cause column
    search.fill("sigma")
    search.press("Enter")  # Tabulator filters on key events, which fill() does not send
    table.get_by_text("sigma: 1.0 → 2.5").first.wait_for()
    assert table.locator(".tabulator-row").count() == 1
    shot(page, "04-sigma-event")


def test_a_bad_architecture_is_a_notification_and_the_app_goes_on(open_page):
    page = open_page(FAST)
    arch = page.locator(".gl-arch input").first
    arch.fill("16--8")
    arch.press("Enter")
    toast(page, "cannot read architecture")
    page.wait_for_timeout(800)  # let the toast finish sliding in before the picture
    shot(page, "05-bad-architecture")
    arch.fill("5-3")
    arch.press("Enter")
    page.locator(".gl-strip", has_text="2-5-3-1").wait_for()
    click(page, "Step")
    wait_epoch(page, 1)


def test_a_malformed_csv_is_a_notification(open_page):
    page = open_page(FAST)
    page.locator("select").first.select_option("csv")
    page.locator("input[type=file]").first.set_input_files(
        files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": b'a,b,label\n1,2\n3,"4,5,6\n'}]
    )
    toast(page, "broken.csv")
    page.wait_for_timeout(800)
    shot(page, "06-bad-csv")
    assert "xor" in strip_text(page)  # the previous run is still there


def test_the_url_reproduces_a_setup_and_copy_link_copies_it(open_page):
    page = open_page("dataset=moons&arch=6-3&method=strategic&sigma=2&seed=5")
    assert "moons · strategic · 2-6-3-1" in strip_text(page)
    assert page.locator(".gl-param-sigma input").first.input_value() == "2"
    arch = page.locator(".gl-arch input").first
    arch.fill("7-3")
    arch.press("Enter")
    page.wait_for_function("() => window.location.search.includes('arch=7-3')")
    click(page, "Copy link")
    page.get_by_role("button", name="Link copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.url and "sigma=2" in copied and "seed=5" in copied
    other = open_page(copied.split("?", 1)[1])
    assert "moons · strategic · 2-7-3-1" in strip_text(other)
    assert other.locator(".gl-param-sigma input").first.input_value() == "2"


def test_two_sessions_train_independently_and_closing_one_frees_its_run(open_page, server):
    server.wait_status(lambda s: s["runs"] == 0)  # earlier tests' tabs are freed
    a = open_page(FAST)
    b = open_page("dataset=circles&arch=3&epochs=3000")
    server.wait_status(lambda s: s["runs"] == 2)
    click(a, "Play")
    wait_epoch(a, 5)
    assert epoch(b) == 0 and badge(b) == "Ready"
    click(b, "Play")
    wait_epoch(b, 3)
    server.wait_status(lambda s: s["training"] == 2)
    click(b, "Pause")
    b.locator(".gl-badge", has_text="Paused").wait_for()
    b_epoch = epoch(b)
    wait_epoch(a, epoch(a) + 3)  # a goes on while b waits
    assert epoch(b) == b_epoch
    shot(a, "07-session-a")
    a.context.close()
    status = server.wait_status(lambda s: s["runs"] == 1 and s["training"] == 0)  # a's run is stopped and freed
    assert status["workers"] <= 1
