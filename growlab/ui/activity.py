"""Why a growing method is not growing: a line for the status strip ("growth stalled: …").

A teacher who turns a knob must see it do something or read why not. The note is read from
what the app already has — the snapshot (masks, focal junctures, the method's values) and
the curves' history of connections grown per epoch — so nothing here asks the run.
"""

from __future__ import annotations

import numpy as np

from growlab.methods import METHODS
from growlab.methods.composed import Composed

#: Cycles in a row that grew nothing before growth is called stalled.
STALL_CYCLES = 10


def grows(method: str) -> bool:
    """Whether ``method`` grows connections in its cycles."""
    cls = METHODS.get(method)
    return issubclass(cls, Composed) and cls.grow_part is not None


def prunes(method: str) -> bool:
    cls = METHODS.get(method)
    return issubclass(cls, Composed) and cls.prune_mode is not None


def saturated(snap, juncture: tuple[int, int, int], grow_from: str) -> bool:
    """Whether a focal juncture has nowhere to grow: the neuron new connections start from
    already reaches every alive neuron of the layer after it (with ``both``, both such neurons)."""
    if grow_from == "both":
        return saturated(snap, juncture, "origin") and saturated(snap, juncture, "terminus")
    layer, source, target = juncture
    if grow_from == "terminus":
        layer, source = layer + 1, target
    if layer >= len(snap.masks):
        return True  # a terminus in the output layer has no layer after it
    alive = np.asarray(snap.alive[layer + 1], bool)
    return bool(np.asarray(snap.masks[layer])[alive, source].all())


def growth_note(snap, epochs, grown) -> str:
    """The strip's line about growth, or "" when growth is doing what it should.

    Args:
        snap: the snapshot drawn.
        epochs, grown: the history so far (epoch, connections grown in it).
    """
    if not grows(snap.method) or snap.epoch == 0 or snap.status in ("ready", "error"):
        return ""
    p = snap.params or {}
    done = snap.epoch / max(snap.epochs, 1)
    if "start" in p and done < p["start"]:
        return f"growth starts at {p['start']:.0%} of training (start)"
    if "stop" in p and done > p["stop"] and p["stop"] < 1:
        return f"structure frozen: no cycle after {p['stop']:.0%} of training (stop)"
    cap = 1 - p["sparsity"] if "sparsity" in p and p.get("threshold", "cap") == "cap" else None
    possible = sum(int(np.asarray(m).size) for m in snap.masks)
    active = sum(int(np.asarray(m).sum()) for m in snap.masks)
    density = active / possible if possible else None
    at_cap = cap is not None and possible > 0 and active + 1 > cap * possible + 1e-9  # not one more fits
    window = STALL_CYCLES * max(int(p.get("interval", 1) or 1), 1)
    recent = [g for e, g in zip(epochs, grown) if e > snap.epoch - window]
    idle = len(recent) >= window and not any(recent)
    if at_cap and (idle or not prunes(snap.method)):
        return f"target density reached: density {density:.1%} ≥ 1 − sparsity {p['sparsity']:g}; lower sparsity to let it grow"
    if not idle:
        return ""
    text = f"growth stalled: nothing grown in the last {window} epochs"
    junctures = (snap.overlays or {}).get("focal_junctures") or []
    grow_from = p.get("grow_from", "origin")
    if junctures and all(saturated(snap, tuple(j), grow_from) for j in junctures):
        where = "origin and terminus" if grow_from == "both" else grow_from
        text += (f" — every focal juncture's {where} is saturated (it already reaches every neuron of the next layer);"
                 " try junctures = usable")  # fmt: skip
    return text
