"""Text from outside reaches HTML and Markdown only escaped (no browser; the browser tests are beside)."""

from __future__ import annotations

import panel as pn
import pytest

from growlab.data import load_dataset
from growlab.run import Run
from growlab.run.snapshot import snapshot_of
from growlab.ui import session as session_mod
from growlab.ui.compare import CompareView
from growlab.ui.inspector import _header
from growlab.ui.text import html, markdown, short
from hostile import CLASS_B, IMG, TARGET, hostile_csv


@pytest.fixture(scope="module")
def hostile_snapshot():
    run = Run(load_dataset("csv", data=hostile_csv(), target=TARGET), "3", epochs=2)
    return snapshot_of(run, 1, "ready", None, run_id=1, extra={})


def test_text_helpers_escape_markup_and_cut_long_values():
    assert "<" not in html(IMG) and html(IMG).startswith("&lt;img")
    md = markdown("**x** [a](javascript:alert(1)) <b>")
    assert "<" not in md and "\\*\\*x\\*\\*" in md and "\\[a\\]" in md
    assert short("9" * 100_000) == "9" * 119 + "…"


def test_toasts_get_escaped_text(monkeypatch):
    shown = []

    class Area:  # Panel's notification area, as far as growlab uses it
        notifications: list = []

        def error(self, text, duration):
            shown.append(text)

    monkeypatch.setattr(type(pn.state), "notifications", property(lambda self: Area()))
    session_mod.panel_notify("error", f"CSV {IMG}: bad")
    assert shown == [f"CSV {html(IMG)}: bad"]


def test_the_inspector_header_escapes_feature_and_class_names(hostile_snapshot):
    neuron = _header(hostile_snapshot, {"kind": "neuron", "layer": 0, "unit": 0})
    edge = _header(hostile_snapshot, {"kind": "edge", "layer": 1, "source": 0, "target": 0})
    assert "<img" not in neuron and html(IMG) in neuron
    assert "<xss-probe" not in edge and html(f"P({CLASS_B})") in edge


def test_the_compare_tab_quotes_a_refused_architecture_as_text():
    view = CompareView(slots=None, live=False)
    view.settings.arch = IMG
    assert view.run() is False
    assert "<img" not in view.status and "&lt;img" in view.status
