"""The diagram's ColumnDataSource contents, built from a Snapshot with numpy (no Bokeh).

``tables(snap, layout, budget)`` returns plain dicts of arrays, one per glyph renderer:
``edges`` (active connections: width ∝ |w|, colour by sign), ``redundant`` (active but
carrying nothing to an output: dashed grey), ``ghosts`` (recently pruned, red dotted,
fading), ``fresh`` (recently grown edges drawn over in green, fading to their sign colour),
``halos`` (gold under focal junctures), ``neurons`` and the image ``map``.

Every column is numeric: Bokeh sends numeric arrays as binary buffers, while each string
would cost the server microseconds to encode. Names and status texts are looked up in the
browser by the hover formatters (see :mod:`growlab.ui.diagram_figure`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from growlab.ui.diagram_data import Candidates, candidates, choose, fade, last_events, segments, widths_alphas
from growlab.view.diagram_layout import Layout

HALO_PX = ((250, 9.0), (1200, 6.0), (np.inf, 4.0))  # gold halo width beyond its edge, by edges drawn
#: ``ev`` codes of an edge row: no recent change, grown recently, pruned recently.
EV_NONE, EV_GROWN, EV_PRUNED = 0, 1, 2
#: ``kind`` codes of a neuron row.
ALIVE, DORMANT, USELESS, REMOVED = 0, 1, 2, 3
NEURON_STATUS = ("alive", "dormant capacity", "ε-useless: would be removed", "removed recently (red ring, fades)")



@dataclass(frozen=True, eq=False)
class Tables:
    """One update's worth of diagram data; ``keys[name]`` identify rows (patch vs. replace)."""

    data: dict[str, dict]  # edges, redundant, ghosts, fresh, halos, neurons
    keys: dict[str, np.ndarray]
    map: dict | None
    causes: list[str]  # texts that the ``cause`` columns index
    note: str


def tables(snap, layout: Layout, budget: int) -> Tables:
    """Everything the diagram draws for ``snap`` under an edge ``budget``."""
    events = last_events(snap)
    cause_id, causes = pd.factorize(events["cause"], use_na_sentinel=False)  # hashing: 40k strings in ~2 ms
    causes = [str(x or "") if x == x else "" for x in causes]
    c = candidates(snap, events)
    pick = choose(c, budget)
    act = pick[~c.ghost[pick]]
    gh = pick[c.ghost[pick]]
    red, act = act[c.redundant[act]], act[~c.redundant[act]]
    scale = float(np.abs(c.w[: c.n_active]).max()) if c.n_active else 1.0
    n = len(pick)
    data = {
        "edges": _edges(snap, layout, c, act, events, cause_id, scale, n),
        "redundant": _edges(snap, layout, c, red, events, cause_id, scale, n),
        "ghosts": _ghosts(snap, layout, c, gh, events, cause_id, scale),
    }
    data["redundant"].update(alpha=np.maximum(data["redundant"]["alpha"], 0.6),  # dashes must stay visible
                             width=np.maximum(data["redundant"]["width"], 1.5))  # fmt: skip
    # overlays lie on live connections, redundant or not (a redundant birth is news too)
    live = {k: np.concatenate([data["edges"][k], data["redundant"][k]]) for k in data["edges"]}
    rows = np.concatenate([act, red])
    data["fresh"], fresh_rows = _fresh(snap, rows, live)
    data["halos"], halo_rows = _halos(rows, live, n)
    data["neurons"] = neuron_columns(snap, layout)
    keys = {"edges": c.key[act], "redundant": c.key[red], "ghosts": c.key[gh], "fresh": c.key[fresh_rows],
            "halos": c.key[halo_rows], "neurons": np.asarray(snap.capacity)}  # fmt: skip
    return Tables(data, keys, map_columns(snap, layout), causes, note(c, pick, len(act) + len(red), len(gh)))


def _event_columns(snap, c: Candidates, rows, events, cause_id) -> dict:
    """Recent change of each row: ``ev`` code, its epoch and cause (index into the causes)."""
    e = c.event[rows]
    has = e >= 0
    safe = np.where(has, e, 0)
    grown = has & (events["kind"][safe] == "grow") if len(events["key"]) else has
    return {
        "ev": np.where(has, np.where(grown, EV_GROWN, EV_PRUNED), EV_NONE).astype(np.int8),
        "ev_epoch": np.where(has, events["epoch"][safe] if len(events["key"]) else 0, -1),
        "cause": np.where(has, cause_id[safe] if len(events["key"]) else 0, -1),
        "focal": c.focal[rows].astype(np.int8),
    }


def _birth(snap, layer, source, target) -> np.ndarray:
    """Birth epochs of the given connections."""
    out = np.zeros(len(layer), np.int64)
    for l in np.unique(layer):
        m = layer == l
        out[m] = snap.birth_epoch[l][target[m], source[m]]
    return out


def _edges(snap, layout, c, rows, events, cause_id, scale, n_drawn) -> dict:
    """Active connections: endpoints, width ∝ |w|, sign, and what the hover shows."""
    w = c.w[rows]
    width, alpha = widths_alphas(np.abs(w), scale, n_drawn)
    layer, source, target = c.decode(rows)
    return {
        **segments(layout, layer, source, target),
        "w": w, "width": width, "alpha": alpha, "positive": (w >= 0).astype(np.int8),
        "layer": layer, "source": source, "target": target, "birth": _birth(snap, layer, source, target),
        **_event_columns(snap, c, rows, events, cause_id),
    }  # fmt: skip


def _ghosts(snap, layout, c, rows, events, cause_id, scale) -> dict:
    """Recently pruned connections: red dotted ghosts, clear for the latest cycle, then fading.

    Older ghosts fade quadratically and many ghosts are drawn fainter, so a big pruning
    step some epochs ago does not hide the network that remains.
    """
    cols = _event_columns(snap, c, rows, events, cause_id)
    strength = fade(snap.epoch, cols["ev_epoch"])
    crowd = min(1.0, np.sqrt(60 / max(len(rows), 1)))
    alpha = np.where(c.latest[rows], 0.55 + 0.4 * crowd, 0.1 + 0.5 * crowd * strength**2)
    width, _ = widths_alphas(np.abs(c.w[rows]), scale, 0)
    layer, source, target = c.decode(rows)
    return {
        **segments(layout, layer, source, target),
        "w": c.w[rows], "width": np.clip(width + 1.0, 2.8, 4.5), "alpha": alpha,
        "layer": layer, "source": source, "target": target, **cols,
    }  # fmt: skip


def _fresh(snap, rows, edges) -> tuple[dict, np.ndarray]:
    """Recently grown edges drawn again in green on top; the green fades, revealing the sign."""
    idx = np.nonzero(edges["ev"] == EV_GROWN)[0]
    strength = fade(snap.epoch, edges["ev_epoch"][idx])
    crowd = min(1.0, np.sqrt(150 / max(len(idx), 1)))  # hundreds of births: lighter, not a wall
    fresh = {k: edges[k][idx] for k in ("x0", "y0", "x1", "y1")}
    fresh.update(width=np.maximum(edges["width"][idx], 2.5), alpha=strength * (0.35 + 0.6 * crowd))
    return fresh, rows[idx]


def _halos(rows, edges, n_drawn) -> tuple[dict, np.ndarray]:
    """Gold halos under the focal junctures (the strongest connections that seed growth)."""
    idx = np.nonzero(edges["focal"])[0]
    extra = next(px for limit, px in HALO_PX if n_drawn <= limit)
    halos = {k: edges[k][idx] for k in ("x0", "y0", "x1", "y1")}
    width = edges["width"][idx] + extra
    halos.update(width=width, outer=width + 3.0, alpha=np.full(len(idx), 0.95))
    return halos, rows[idx]


def neuron_columns(snap, layout: Layout) -> dict:
    """Neurons: filled when alive, hollow when ε-useless, faint when dormant capacity."""
    useless = (snap.overlays or {}).get("useless_units") or []
    removed = removed_units(snap)
    first = 1 if layout.map_box is not None else 0  # image inputs are the map, not dots
    parts: dict[str, list] = {k: [] for k in ("layer", "unit", "kind", "fan_in", "fan_out", "bias", "size")}
    for k in range(first, len(layout.xs)):
        n = len(layout.xs[k])
        alive = snap.alive[k]
        kind = np.where(alive, ALIVE, DORMANT).astype(np.int8)
        for kk, u in useless:
            if kk == k and 0 <= u < n and alive[u]:
                kind[u] = USELESS
        for u in removed.get(k, ()):
            if 0 <= u < n and not alive[u]:
                kind[u] = REMOVED
        parts["layer"].append(np.full(n, k))
        parts["unit"].append(np.arange(n))
        parts["kind"].append(kind)
        parts["fan_in"].append(snap.masks[k - 1].sum(axis=1) if k > 0 else np.zeros(n, np.int64))
        parts["fan_out"].append(snap.masks[k].sum(axis=0) if k < layout.n_layers else np.zeros(n, np.int64))
        parts["bias"].append(snap.biases[k - 1].astype(np.float64) if k > 0 else np.full(n, np.nan))
        parts["size"].append(np.full(n, layout.marker_px[k]))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    kind = out["kind"]
    small = out["size"] < 7  # tiny dots read better without a white rim
    out.update(
        x=np.concatenate(layout.xs[first:]), y=np.concatenate(layout.ys[first:]),
        fill_alpha=np.where(kind == DORMANT, 0.25, 1.0),
        line_alpha=np.where(kind == DORMANT, 0.5, np.where((kind >= USELESS) | ~small, 1.0, 0.0)),
        line_width=np.where(kind == USELESS, 2.5, np.where(kind == REMOVED, 3.5, 1.0)),
    )  # fmt: skip
    return out


def removed_units(snap) -> dict[int, set[int]]:
    """Units removed in the recent epochs (``unit_remove`` events; ``snapshot.extra``), by neuron layer."""
    out: dict[int, set[int]] = {}
    for k, u in (snap.extra or {}).get("removed_units") or ():
        out.setdefault(int(k), set()).add(int(u))
    return out


def map_columns(snap, layout: Layout) -> dict | None:
    """The image map: outgoing active connections per input pixel (row 0 drawn on top)."""
    if layout.map_box is None:
        return None
    counts = snap.masks[0].sum(axis=0).reshape(layout.image_shape).astype(np.float64)
    x, y, w, h = layout.map_box
    return {"image": [counts[::-1]], "x": [x], "y": [y], "dw": [w], "dh": [h]}


def note(c: Candidates, pick: np.ndarray, n_edges: int, n_ghosts: int) -> str:
    """Says which connections are shown, e.g. "showing 3,000 strongest of 89,000 connections"."""
    total = c.n_active
    if n_edges >= total:
        text = f"all {total:,} connections"
    else:
        text = f"showing {n_edges:,} strongest of {total:,} connections"
        n_latest, drawn_latest = int(c.latest.sum()), int(c.latest[pick].sum())
        if n_latest:
            text += (
                f", incl. all {n_latest:,} changed in the latest cycle"
                if drawn_latest == n_latest
                else f", incl. the {drawn_latest:,} strongest of {n_latest:,} changed in the latest cycle"
            )
    if n_ghosts:
        text += f" · {n_ghosts:,} recently pruned"
    return text
