"""Hostile names in the served app: a shared link and an uploaded CSV whose names are markup.

Each test fails if any payload runs (``__xss``, ``alert``) or becomes an element anywhere in
the page (shadow roots included), and checks the text is shown as written instead.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from hostile import (
    ARCH, CLASS_B, FILENAME, IMG, NEURON_XY_JS, SCRIPT, SELECT_JS, TARGET, URL_VALUE, check_clean, hostile_csv, page_text,
)  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def toasts(page) -> list[str]:
    return page.locator(".notyf__message").all_inner_texts()


def wait_text(page, text: str, timeout_ms: int = 30_000) -> None:
    """Wait until ``text`` is visible somewhere in the page's text (shadow roots included)."""
    page.wait_for_function(
        "(t) => { const walk = (r) => { for (const el of r.querySelectorAll('*')) {"
        " if (el.shadowRoot && walk(el.shadowRoot)) return true;"
        " for (const n of el.childNodes) if (n.nodeType === 3 && n.textContent.includes(t)) return true; }"
        " return false; }; return walk(document); }",
        arg=text, timeout=timeout_ms,
    )  # fmt: skip


def test_a_hostile_link_runs_nothing_and_shows_its_text(hostile_page):
    query = urlencode({"dataset": "xor", "method": URL_VALUE, "arch": URL_VALUE, "sigma": URL_VALUE, URL_VALUE: "1"})
    page = hostile_page(query)
    page.locator(".notyf__message").first.wait_for()
    page.wait_for_timeout(1500)  # every toast of the link is out
    shown = toasts(page)
    assert len(shown) == 1 and URL_VALUE in shown[0], shown  # one message, quoting the text as typed
    check_clean(page)
    assert page.dialogs == []


def upload(page, data: bytes, name: str) -> None:
    page.get_by_role("combobox").first.select_option("csv")
    page.locator("input[type=file]").wait_for(state="attached")
    page.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


def test_a_hostile_csv_runs_nothing_where_its_names_are_shown(hostile_page):
    page = hostile_page("dataset=xor&arch=4&method=strategic%2Bprune&epochs=500")
    upload(page, hostile_csv(), FILENAME)
    page.locator(".gl-strip", has_text="csv · strategic+prune · 5-4-1").wait_for()
    for _ in range(2):
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_timeout(400)
    page.get_by_role("button", name="Cycle now", exact=True).click()
    page.locator(".gl-strip", has_text="cycles").wait_for()
    check_clean(page)

    # diagram tooltips: an input neuron named <img ...>, the output named after a class
    for layer, unit, expected in ((0, 0, IMG), (2, 0, f"P({CLASS_B})")):
        x, y = page.evaluate(NEURON_XY_JS, ["diagram-neurons", layer, unit])
        page.mouse.move(x, y)
        wait_text(page, expected)
    page.mouse.move(5, 500)
    check_clean(page)

    # inspector: header and event table of a connection out of the <img ...> input
    page.locator(".bk-tab", has_text="Inspector").click()
    page.evaluate(SELECT_JS, ["diagram-neurons", 0, 0])
    wait_text(page, "alive ·")
    assert IMG in page_text(page)
    sel = page.evaluate(SELECT_JS, ["diagram-ghosts", 0, 0])
    if sel < 0:  # no pruned connection from that input: take any drawn one
        page.evaluate(SELECT_JS, ["diagram-edges", 0, 0])
    page.wait_for_timeout(1000)
    check_clean(page)

    # events table, then a second CSV whose rare class makes the error toast quote it
    page.locator(".bk-tab", has_text="Events").click()
    page.wait_for_timeout(800)
    upload(page, hostile_csv(rare_class=True), "again " + FILENAME)
    page.locator(".notyf__message", has_text="press Reset").first.wait_for()  # the run has trained: Reset applies it
    page.get_by_role("button", name="Reset", exact=True).click()
    page.locator(".notyf__message", has_text="rare").first.wait_for()
    assert any("<img src=x onerror=__xss(8)>rare" in t for t in toasts(page)), toasts(page)
    check_clean(page)

    # the Compare tab quotes a refused architecture
    page.locator(".bk-tab", has_text="Compare").click()
    arch = page.locator(".gl-compare-arch input")
    arch.fill(ARCH)
    arch.press("Enter")
    page.get_by_role("button", name="Run experiment", exact=True).click()
    wait_text(page, "Not started")
    assert ARCH in page_text(page)
    check_clean(page)
    text = page_text(page)
    for name in (IMG, SCRIPT, TARGET, FILENAME[:12]):
        assert name in text, name
    assert page.dialogs == []
