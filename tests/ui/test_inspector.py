"""The inspector without a browser: it follows the diagram's selection, records history, lists events."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import diagram_cases as dc
from growlab.run.snapshot import snapshot_of
from growlab.ui.diagram import NetworkDiagram
from growlab.ui.inspector import Inspector, events_for


@pytest.fixture(scope="module")
def sparse():
    return dc.heart_sparse()


def test_follows_the_diagram_and_records_the_selected_weight_each_epoch():
    run = dc.growlab.Run("heart", "16-8", epochs=6, seed=0)
    d = NetworkDiagram()
    ins = Inspector(diagram=d)
    snap = snapshot_of(run)
    d.update(snap)
    ins.update(snap)
    assert "Click a connection" in ins.header.object and not ins.plot.visible
    d.selected = {"kind": "edge", "layer": 1, "source": 2, "target": 3}
    assert ins.selected == d.selected and ins.plot.visible and ins.table.visible
    seen = [float(snap.weights[1][3, 2])]
    for _ in range(3):
        run.step()
        snap = snapshot_of(run)
        ins.update(snap)
        seen.append(float(snap.weights[1][3, 2]))
    h = ins.history_frame()
    assert h["epoch"].tolist() == [0, 1, 2, 3] and np.allclose(h["weight"], seen)
    assert np.allclose(ins.history.data["weight"], seen) and ins.lines["weight"].visible
    assert "h1 #2 → h2 #3" in ins.header.object and f"{seen[-1]:+.3f}" in ins.header.object


def test_neuron_history_has_bias_and_connection_strength(sparse):
    _, snap, _ = sparse
    ins = Inspector()
    ins.update(snap)
    ins.selected = {"kind": "neuron", "layer": 2, "unit": 1}
    h = ins.history_frame()
    assert list(h.columns) == ["epoch", "bias", "in_abs", "out_abs"]
    assert h["in_abs"].iloc[-1] == pytest.approx(np.abs(snap.weights[1][1]).sum())
    assert h["bias"].iloc[-1] == pytest.approx(snap.biases[1][1])
    assert not ins.lines["weight"].visible and ins.lines["in_abs"].visible


def test_lists_the_events_of_an_edge_and_of_a_neuron(sparse):
    _, snap, info = sparse
    ins = Inspector()
    ins.update(snap)
    t, s = np.argwhere(info["grown"])[0]
    ins.selected = {"kind": "edge", "layer": 0, "source": int(s), "target": int(t)}
    table = ins.table.value
    assert "grow" in table["kind"].tolist() and table["cause"].iloc[0] == "test: random"
    assert set(ins.marks.data["kind"]) >= {"grow"}
    ins.selected = {"kind": "neuron", "layer": 1, "unit": 0}  # its inputs were all cut in the latest cycle
    table = ins.table.value
    into, out_of = table["connection"].str.endswith("→ h1 #0"), table["connection"].str.startswith("h1 #0 →")
    assert (table["kind"] == "prune").sum() >= 1 and into.any() and (into | out_of).all()
    assert "0 in" in ins.header.object


def test_events_for_matches_connections_and_units():
    log = pd.DataFrame({
        "epoch": [1, 2, 3, 4, 5], "step": [1, 2, 3, 4, 5],
        "kind": ["grow", "prune", "grow", "unit_remove", "param"],
        "layer": [0, 1, 1, 1, None], "source": [2, 3, 4, 3, None], "target": [3, 0, 3, None, None],
        "weight": [0.1, 0.2, 0.3, None, None], "cause": ["a", "b", "c", "d", "e"],
    })  # fmt: skip
    assert events_for(log, {"kind": "edge", "layer": 1, "source": 3, "target": 0})["cause"].tolist() == ["b"]
    # neuron 3 of layer 1: into it (layer 0, target 3), out of it (layer 1, source 3), and its own unit event
    assert events_for(log, {"kind": "neuron", "layer": 1, "unit": 3})["cause"].tolist() == ["a", "b", "d"]
    assert len(events_for(log, None)) == 0


class FakeRunner:
    """The runner queries the inspector uses (INTERFACE.md), answering from fixed frames."""

    def __init__(self, events: pd.DataFrame):
        self._events, self.watched = events, []

    def watch(self, selection):
        self.watched.append(selection)

    def events(self, since: int = 0):
        return self._events.iloc[since:].reset_index(drop=True)

    def weight_history(self, layer, source, target):
        return pd.DataFrame({"epoch": [0, 1, 2], "weight": [0.1, 0.2, 0.3]})

    def neuron_history(self, layer, unit):
        return pd.DataFrame({"epoch": [0, 1], "bias": [0.0, 0.1], "in_abs": [1.0, 1.1], "out_abs": [2.0, 2.2]})


def test_with_a_runner_it_watches_and_reads_the_trace(sparse):
    _, snap, _ = sparse
    runner = FakeRunner(snap.recent)
    ins = Inspector(runner=runner)
    ins.update(snap)
    sel = {"kind": "edge", "layer": int(snap.recent["layer"][0]), "source": int(snap.recent["source"][0]),
           "target": int(snap.recent["target"][0])}  # fmt: skip
    ins.selected = sel
    assert runner.watched == [sel]
    assert ins.history.data["weight"].tolist() == [0.1, 0.2, 0.3]
    assert len(ins.table.value) == len(events_for(snap.recent, sel)) > 0
    ins.selected = None
    assert runner.watched[-1] is None and len(ins.history.data["epoch"]) == 0


def test_a_new_run_forgets_history_and_an_invalid_selection(sparse):
    _, snap, _ = sparse
    ins = Inspector()
    ins.update(dataclasses.replace(snap, run_id=1))
    ins.selected = {"kind": "edge", "layer": 2, "source": 7, "target": 0}
    assert len(ins.history_frame()) == 1
    small = snapshot_of(dc.growlab.Run("xor", "4", epochs=1))
    ins.update(dataclasses.replace(small, run_id=2))  # hidden 2 does not exist any more
    assert ins.selected is None and "Click a connection" in ins.header.object
