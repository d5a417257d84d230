"""The Export tab's animation in the served app: recorded off the event loop, with progress, the
page answering meanwhile (Chromium)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.ui.test_browser import HEART, SHOTS, badge, click, epoch, wait_epoch

pytestmark = pytest.mark.browser


def view(page, locator, name: str) -> None:
    """A screenshot of the window with ``locator`` in it (what the user sees there)."""
    locator.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_recording_the_animation_never_blocks_the_page(open_page):
    page = open_page(HEART + "&speed=fastest", width=1440, height=900)
    click(page, "Play")
    wait_epoch(page, 150)
    click(page, "Pause")
    page.locator(".gl-badge", has_text="Paused").wait_for()
    trained = epoch(page)
    page.locator(".bk-tab", has_text="Export").click()
    page.get_by_role("button", name="Record animation (.gif)").click()
    note = page.locator(".gl-record-note", has_text="Recording the animation: frame")
    note.wait_for(timeout=30_000)  # progress while it draws
    assert page.locator(".gl-recording progress").first.is_visible()
    view(page, note, "export-recording-1440")
    # the page and the run answer while it records: Play is answered at once and trains on
    click(page, "Play")
    page.locator(".gl-badge", has_text="Training").wait_for(timeout=10_000)
    assert note.is_visible(), "the recording ended before the page was tried; it shows nothing"
    wait_epoch(page, trained + 3)
    click(page, "Pause")
    page.locator(".gl-badge", has_text="Paused").wait_for(timeout=10_000)
    download = page.get_by_role("button", name="Download growlab-heart-")
    download.wait_for(timeout=240_000)
    page.locator(".gl-record-note", has_text="Recorded").wait_for()
    assert not page.get_by_role("button", name="Record animation (.gif)").is_disabled()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(500)
    view(page, download, "export-recorded-1280")
    with page.expect_download() as info:
        download.click()
    path = info.value.path()
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"GIF89a"
    with Image.open(io.BytesIO(data)) as im:  # the run as it was when Record was clicked, ≤ ~100 frames
        assert 50 <= im.n_frames <= 101
    assert info.value.suggested_filename == f"growlab-heart-strategic_prune-epoch{trained}-life.gif"
    assert badge(page) == "Paused"
