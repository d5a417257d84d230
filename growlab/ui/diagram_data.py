"""Which connections the network diagram draws, and how: pure numpy tables from a Snapshot.

Every active connection is a candidate; so are the "ghosts" of connections pruned in the
last ``FADE_EPOCHS`` epochs. Under an edge budget the diagram keeps, in this order: the
connections grown or pruned in the latest cycle and the focal junctures (tier 0); older recent
changes and redundant connections (tier 1); then the strongest |w| of the rest (tier 2); ghosts
of older cycles only where room is left (tier 3).
Connections are identified by a flat key ``offset[layer] + target·cap[layer] + source``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from growlab.run.snapshot import FADE_EPOCHS
from growlab.view.diagram_layout import Layout


@dataclass(frozen=True, eq=False)
class Candidates:
    """Active connections, then ghosts of recently pruned ones; one row each (flat arrays).

    Only what ranking needs is kept for every row; :meth:`decode` gives layer, source and
    target for the rows that are drawn.
    """

    key: np.ndarray
    w: np.ndarray  # current weight; for a ghost, its weight when pruned
    ghost: np.ndarray  # bool: pruned recently, not active
    redundant: np.ndarray  # bool
    focal: np.ndarray  # bool
    event: np.ndarray  # index into the last-event table, -1 when none
    tier: np.ndarray  # 0 latest cycle / focal, 1 older change or redundant, 2 the rest, 3 old ghosts
    latest: np.ndarray  # bool: grown or pruned in the latest cycle
    n_active: int
    capacity: tuple[int, ...]

    def decode(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(layer, source, target)`` of candidate ``rows``."""
        key = self.key[rows]
        off = layer_offsets(self.capacity)
        layer = np.searchsorted(off, key, side="right") - 1
        target, source = np.divmod(key - off[layer], np.asarray(self.capacity[:-1], np.int64)[layer])
        return layer, source, target


def layer_offsets(capacity) -> np.ndarray:
    """First flat key of each weight layer."""
    sizes = [a * b for a, b in zip(capacity[1:], capacity[:-1])]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def flat_keys(capacity, layer, target, source) -> np.ndarray:
    """Flat connection keys (see the module docstring)."""
    layer = np.asarray(layer, dtype=np.int64)
    caps_in = np.asarray(capacity[:-1], dtype=np.int64)
    return layer_offsets(capacity)[layer] + np.asarray(target, np.int64) * caps_in[layer] + np.asarray(source, np.int64)


def last_events(snap) -> dict[str, np.ndarray]:
    """The latest grow/prune event of each connection among ``snap.recent`` (sorted by key)."""
    rec = snap.recent
    if rec is not None and len(rec):
        rec = rec[rec["kind"].isin(["grow", "prune"]) & rec["layer"].notna()]
    if rec is None or len(rec) == 0:
        ints = np.zeros(0, np.int64)
        return {"key": ints, "kind": np.zeros(0, object), "epoch": ints, "weight": np.zeros(0),
                "cause": np.zeros(0, object), "layer": ints, "source": ints, "target": ints}  # fmt: skip
    layer = rec["layer"].to_numpy(np.int64)
    key = flat_keys(snap.capacity, layer, rec["target"].to_numpy(np.int64), rec["source"].to_numpy(np.int64))
    # the last occurrence of each key wins: unique over the reversed arrays
    _, first_rev = np.unique(key[::-1], return_index=True)
    keep = len(key) - 1 - first_rev
    return {
        "key": key[keep],
        "kind": rec["kind"].to_numpy()[keep],
        "epoch": rec["epoch"].to_numpy(np.int64)[keep],
        "weight": rec["weight"].to_numpy(np.float64)[keep],
        "cause": rec["cause"].to_numpy(object)[keep],
        "layer": layer[keep],
        "source": rec["source"].to_numpy(np.int64)[keep],
        "target": rec["target"].to_numpy(np.int64)[keep],
    }


def _active(snap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys, weights and redundancy of the active connections of every layer, in key order."""
    off = layer_offsets(snap.capacity)
    keys, ws, reds = [], [], []
    for l, m in enumerate(snap.masks):
        flat = np.flatnonzero(m)  # row-major: target · n_in + source, the key within the layer
        keys.append(off[l] + flat)
        ws.append(snap.weights[l].ravel()[flat])
        reds.append(snap.redundant[l].ravel()[flat] if snap.redundant is not None else np.zeros(len(flat), bool))
    return np.concatenate(keys), np.concatenate(ws).astype(np.float64), np.concatenate(reds).astype(bool)


def candidates(snap, events: dict[str, np.ndarray]) -> Candidates:
    """Active connections plus ghosts of recently pruned ones, with their priority tiers."""
    key, w, red = _active(snap)
    n_active = len(key)
    ev_key = events["key"]
    event = np.full(n_active, -1, np.int64)
    ghost_ev = np.zeros(0, np.int64)
    if len(ev_key):
        pos = np.clip(np.searchsorted(ev_key, key), 0, len(ev_key) - 1)
        event = np.where(ev_key[pos] == key, pos, -1)
        live = np.zeros(len(ev_key), bool)
        live[event[event >= 0]] = True
        ghost_ev = np.nonzero((events["kind"] == "prune") & ~live)[0]
    focal = np.zeros(n_active, bool)
    focal_list = (snap.overlays or {}).get("focal_junctures") or []
    if len(focal_list):
        f = np.asarray(focal_list, np.int64).reshape(-1, 3)
        focal = np.isin(key, flat_keys(snap.capacity, f[:, 0], f[:, 2], f[:, 1]))
    n_ghost = len(ghost_ev)
    c = dict(
        key=np.concatenate([key, ev_key[ghost_ev]]),
        w=np.concatenate([w, events["weight"][ghost_ev]]),
        ghost=np.r_[np.zeros(n_active, bool), np.ones(n_ghost, bool)],
        redundant=np.r_[red, np.zeros(n_ghost, bool)],
        focal=np.r_[focal, np.zeros(n_ghost, bool)],
        event=np.concatenate([event, ghost_ev]),
    )
    tier, latest = _tiers(c, events)
    return Candidates(**c, tier=tier, latest=latest, n_active=n_active, capacity=tuple(snap.capacity))


def _tiers(c: dict, events: dict) -> tuple[np.ndarray, np.ndarray]:
    """Priority tier per candidate, and which changed in the latest cycle."""
    has_ev = c["event"] >= 0
    tier = np.full(len(c["key"]), 2, np.int64)
    latest = np.zeros(len(c["key"]), bool)
    if len(events["key"]):
        ev_epoch = events["epoch"][np.where(has_ev, c["event"], 0)]
        latest = has_ev & (ev_epoch == events["epoch"].max())
    tier[has_ev | c["redundant"]] = 1
    tier[c["ghost"] & ~latest] = 3  # older ghosts only where room is left
    tier[latest | c["focal"]] = 0
    return tier, latest


def choose(c: Candidates, budget: int) -> np.ndarray:
    """Indices of the candidates to draw: all of them, or the best ``budget`` by tier, then |w|."""
    n = len(c.key)
    if n <= budget:
        return np.arange(n)
    absw = np.abs(c.w)
    scale = max(float(absw.max()), 1e-12)
    rank = 1.0 - np.minimum(absw / scale, 1.0)
    tier = c.tier.copy()
    first = np.nonzero(tier == 0)[0]
    if len(first) > budget // 2:
        # a huge cycle (e.g. pruning half of LeNet) must not crowd out every other connection:
        # keep its strongest changes in half the budget, the rest only if room remains
        drop = first[np.argsort(rank[first], kind="stable")[budget // 2 :]]
        tier[drop] = 3
    score = tier + 0.999 * rank
    pick = np.argpartition(score, budget - 1)[:budget]
    return np.sort(pick)  # flat-key order: stable rows, so weight-only updates can patch


def fade(snap_epoch: int, epoch: np.ndarray) -> np.ndarray:
    """Highlight strength of a change made at ``epoch``: 1 now, falling to ~0 after FADE_EPOCHS."""
    age = np.maximum(snap_epoch - epoch, 0)
    return np.clip(1.0 - age / (FADE_EPOCHS + 1), 0.0, 1.0)


def neuron_index(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated x, y of all neurons and the offset of each neuron layer."""
    off = np.concatenate([[0], np.cumsum([len(x) for x in layout.xs])]).astype(np.int64)
    return np.concatenate(layout.xs), np.concatenate(layout.ys), off


def segments(layout: Layout, layer, source, target) -> dict[str, np.ndarray]:
    """Endpoints of connections ``(layer, source → target)``."""
    X, Y, off = neuron_index(layout)
    a = off[layer] + source
    b = off[layer + 1] + target
    return {"x0": X[a], "y0": Y[a], "x1": X[b], "y1": Y[b]}


def widths_alphas(absw: np.ndarray, scale: float, n_drawn: int) -> tuple[np.ndarray, np.ndarray]:
    """Line width ∝ |w| (linear, clipped at ``scale``) and an opacity that also grows with |w|.

    Crowded diagrams use thinner, fainter lines so the strongest connections stand out.
    """
    if n_drawn <= 250:
        (w0, w1), (a0, a1) = (0.6, 7.0), (0.35, 0.95)
    elif n_drawn <= 1200:
        (w0, w1), (a0, a1) = (0.4, 5.0), (0.18, 0.85)
    else:
        (w0, w1), (a0, a1) = (0.3, 3.0), (0.07, 0.7)
    r = np.minimum(absw / max(scale, 1e-12), 1.0)
    return w0 + (w1 - w0) * r, a0 + (a1 - a0) * r
