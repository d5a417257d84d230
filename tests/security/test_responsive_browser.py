"""One session's heavy setup does not stall another's: a wide CSV upload or a big network is
built off the server's event loop, so another tab's Pause is answered while it builds.

The assertions are about the order of events, never about durations: session A's strip says
"building the new run…" (which already needs the loop to be free), then session B's Pause
is answered, and only then does A's new run appear.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from playwright.sync_api import expect

from growlab.data.csv import MAX_CSV_COLUMNS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUILDING = "building the new run"


def wide_csv(rows: int = 2000) -> bytes:
    """The widest CSV read (one column under the cap, plus the label), ~8 MB: seconds to build."""
    rng = np.random.default_rng(0)
    out = io.StringIO()
    n = MAX_CSV_COLUMNS - 1
    out.write(",".join(f"c{i}" for i in range(n)) + ",label\n")
    for r in range(rows):
        out.write(",".join(map(str, rng.integers(0, 10, n))) + f",{r % 2}\n")
    return out.getvalue().encode()


def strip(page) -> str:
    return page.locator(".gl-strip").first.text_content()


def playing(page):
    page.get_by_role("button", name="Play", exact=True).click()
    page.get_by_role("button", name="Pause", exact=True).wait_for()


def order_of_events(a, b, built: str, timeout: float = 180.0) -> list[str]:
    """Once A says it is building, press B's Pause; record when B answers and when A's run is built."""
    events: list[str] = []
    deadline = time.monotonic() + timeout
    while "a built" not in events and time.monotonic() < deadline:
        text = strip(a)
        if BUILDING in text and "a building" not in events:
            events.append("a building")
            b.get_by_role("button", name="Pause", exact=True).click()
        if "a building" in events and "b answered" not in events and b.get_by_role("button", name="Play", exact=True).count():
            events.append("b answered")
        if built in text and BUILDING not in text and "a building" in events:
            events.append("a built")
        time.sleep(0.02)
    return events


def test_a_wide_csv_builds_while_another_session_is_answered(hostile_page):
    b = hostile_page("dataset=xor&arch=4&epochs=100000")
    a = hostile_page("dataset=xor&arch=4")
    playing(b)
    a.get_by_role("combobox").first.select_option("csv")
    a.locator("input[type=file]").wait_for(state="attached")
    a.locator("input[type=file]").set_input_files(files=[{"name": "wide.csv", "mimeType": "text/csv", "buffer": wide_csv()}])
    events = order_of_events(a, b, built=f"csv · dense · {MAX_CSV_COLUMNS - 1}-")
    assert events == ["a building", "b answered", "a built"], (events, strip(a))


def test_a_network_too_big_to_draw_live_is_refused_and_another_session_is_not_disturbed(hostile_page):
    b = hostile_page("dataset=xor&arch=4&epochs=100000")
    a = hostile_page("dataset=heart&arch=4")
    playing(b)
    box = a.locator(".gl-arch input")
    box.fill("4000-4000")
    box.press("Enter")
    a.locator(".notyf__message", has_text="the app draws at most 2,000,000").first.wait_for()
    b.get_by_role("button", name="Pause", exact=True).click()
    b.get_by_role("button", name="Play", exact=True).wait_for()
    assert "heart · dense · 27-4-1" in strip(a)  # A's run is the one it had


def test_a_file_over_the_upload_limit_is_refused_in_the_browser_and_the_session_lives_on(hostile_page):
    page = hostile_page("dataset=xor&arch=4")
    page.get_by_role("combobox").first.select_option("csv")
    page.locator("input[type=file]").wait_for(state="attached")
    big = b"a,label\n" + b"1,0\n" * 5_000_000  # 19 MiB: over 10 MiB, and over Bokeh's websocket message limit
    page.locator("input[type=file]").set_input_files(files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big}])
    page.locator(".notyf__message", has_text="big.csv is 19.1 MiB; the limit is 10 MiB").first.wait_for()
    page.get_by_role("combobox").first.select_option("xor")
    playing(page)  # the session (and its run) is still there and answers
    page.locator(".gl-strip", has_text="Training").wait_for()


def test_sessions_share_the_memory_budget_and_a_link_over_it_is_refused(hostile_page, classroom):
    deadline = time.monotonic() + 60
    while classroom.status()["memory_used"] > 64 * 2**20 and time.monotonic() < deadline:
        time.sleep(0.5)  # the sessions of earlier tests are freed
    link = "dataset=heart&arch=1400-1400"  # ~150 MB each: one fits the 256 MiB budget, two do not
    first = hostile_page(link)
    first.locator(".gl-strip", has_text="27-1400-1400-1").wait_for()
    second = hostile_page(link, wait_live=False)
    note = second.locator(".notyf__message", has_text="memory budget").first
    note.wait_for()
    assert "1 other run holds the rest" in note.inner_text() or "other runs hold" in note.inner_text()
    second.locator(".gl-strip", has_text="heart · dense · 27-16-8-1").wait_for()  # the default setup instead
    expect(second.locator(".gl-arch input")).to_have_value("16-8")  # and the controls say so
