"""The status strip above the diagram: state, epoch and the headline numbers, large."""

from __future__ import annotations

import html

import numpy as np
import panel as pn
import param

from growlab.ui.text import phase_text
from growlab.ui.theme import PHASE, STATUS

CSS = """
.gl-strip { display:flex; flex-wrap:wrap; gap:4px 16px; align-items:baseline; font-size:15px; color:#263238; }
.gl-badge { color:white; border-radius:4px; padding:2px 10px; font-weight:700; font-size:15px; }
.gl-k { color:#607d8b; font-size:12px; text-transform:uppercase; letter-spacing:.04em; margin-right:4px; }
.gl-v { font-size:20px; font-weight:700; font-variant-numeric: tabular-nums; }
.gl-note { flex-basis:100%; font-size:14px; }
.gl-row { display:flex; flex-wrap:nowrap; gap:inherit; align-items:baseline; min-width:0; max-width:100%; white-space:nowrap; }
.gl-row > span { flex:none; }
.gl-row > .gl-what { flex:0 1 auto; min-width:3em; overflow:hidden; text-overflow:ellipsis; font-size:14px; color:#455a64; }
.gl-phase { font-size:17px; font-weight:700; border:2px solid currentColor; border-radius:4px; padding:0 8px; }
@media (max-width: 1680px) {  /* laptops and a projector's 1280 px: the strip stays one line */
  .gl-strip { gap:2px 10px; font-size:14px; } .gl-v { font-size:18px; } .gl-k { font-size:11px; margin-right:3px; }
  .gl-phase { font-size:15px; padding:0 5px; }
}
@media (max-width: 1300px) {  /* a projector's 1280 px beside the sidebar */
  .gl-strip { gap:2px 8px; } .gl-v { font-size:16px; } .gl-k { letter-spacing:0; }
}
"""


def _fmt(value, pct: bool = False) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.1%}" if pct else f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"


def structure(snap, row: dict) -> tuple[float | None, int | None]:
    """Density and active parameters of the network as drawn (the snapshot's masks), so the strip
    agrees with the diagram after a cycle or a pruning between epochs; the history row's
    figures when the snapshot has no masks."""
    masks = [m for m in snap.masks if m is not None]
    possible = sum(int(m.size) for m in masks)
    if not masks or not possible:
        return row.get("density"), row.get("active_params")
    active = sum(int(m.sum()) for m in masks)
    biases = sum(int(a.sum()) for a in snap.alive[1:])
    return active / possible, active + biases


def unreached_inputs(snap) -> list[int] | None:
    """The inputs with no path of active connections to any output (``None``: not known for this
    network, e.g. a conv network). A network whose inputs are all unreached cannot learn at all;
    one that misses some ignores them (a 2-D toy then sees one coordinate only)."""
    masks = [np.asarray(m, bool) for m in snap.masks]
    if not masks or any(m is None or m.ndim != 2 for m in masks) or any(
        a.shape[0] != b.shape[1] for a, b in zip(masks, masks[1:])
    ):
        return None
    reach = np.ones(masks[-1].shape[0], bool)  # every output reaches itself
    for m in reversed(masks):
        reach = (m & reach[:, None]).any(axis=0)  # a source reaches an output through some target
    n = snap.sizes[0] if snap.sizes else len(reach)
    return [int(i) for i in np.flatnonzero(~reach[:n])]


def reach_warning(snap) -> str:
    """The strip's warning when inputs cannot reach the output, or ""."""
    cut = unreached_inputs(snap)
    if not cut:
        return ""
    n = snap.sizes[0] if snap.sizes else len(cut)
    names = [str(snap.feature_names[i]) if i < len(snap.feature_names) else f"input {i + 1}" for i in cut]
    if len(cut) == n:
        return "no input reaches the output: this network cannot learn (lower the sparsity or widen the layers)"
    listed = ", ".join(names[:4]) + (f" and {len(cut) - 4} more" if len(cut) > 4 else "")
    return f"{len(cut)} of {n} inputs reach no output ({listed}): the network ignores them"


def strip_html(snap, dirty: bool = False, building: bool = False, activity: str = "") -> str:
    """The strip's HTML for one snapshot; ``activity``: a line on growth (:func:`~growlab.ui.activity.growth_note`)."""
    label, colour = STATUS.get(snap.status, (snap.status, "#546e7a"))
    row = snap.last_row or {}
    items = [("epoch", f"{snap.epoch} / {snap.epochs}")]
    if snap.task == "regression":
        items.append(("val MSE", _fmt(row.get("val_mse"))))
    else:
        items += [("val acc", _fmt(row.get("val_acc"), True)), ("AUC", _fmt(row.get("val_auc"), True))]
    density, params = structure(snap, row)
    items += [("density", _fmt(density, True)), ("params", _fmt(params)),
              ("cycles", _fmt(snap.extra.get("cycles", 0)))]  # fmt: skip
    cells = "".join(f"<span><span class='gl-k'>{k}</span><span class='gl-v'>{v}</span></span>" for k, v in items)
    notes = []
    if snap.error:
        notes.append(f"<span style='color:{colour}'>⚠ {html.escape(snap.error)}</span>")
    pending = snap.extra.get("pending") or {}
    if pending:
        text = ", ".join(f"{k} → {v:g}" if isinstance(v, float) else f"{k} → {v}" for k, v in pending.items())
        notes.append(f"<span style='color:#6a1b9a'>applies at the next cycle: {html.escape(text)}</span>")
    if warning := reach_warning(snap):
        notes.append(f"<span class='gl-reach' style='color:#c62828;font-weight:700'>⚠ {html.escape(warning)}</span>")
    if activity:
        notes.append(f"<span class='gl-activity' style='color:#b26a00;font-weight:700'>⚠ {html.escape(activity)}</span>")
    if building:
        notes.append("<span style='color:#1f4e5f'>building the new run…</span>")
    elif dirty:
        notes.append("<span style='color:#b26a00'>setup changed: Reset to apply</span>")
    note = f"<div class='gl-note'>{' · '.join(notes)}</div>" if notes else ""
    phase = phase_text(snap)
    phase = f"<span class='gl-phase' style='color:{PHASE}'>{html.escape(phase)}</span>" if phase else ""
    return (
        f"<div class='gl-strip'><div class='gl-row'><span class='gl-badge' style='background:{colour}'>{label}</span>"
        f"<span class='gl-what'>{html.escape(snap.dataset)} · {html.escape(snap.method)} · "
        f"{'-'.join(map(str, snap.sizes))}</span>{phase}{cells}</div>{note}</div>"
    )


class StatusStrip(pn.viewable.Viewer):
    """Status, epoch, accuracy/AUC (or MSE), density, parameters, cycles and pending changes."""

    text = param.String(default="", doc="The HTML shown.")
    live = param.Boolean(default=False, doc="The browser is connected (marks the strip for tests and scripts).")

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HTML(self.param.text, stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10))

    def update(self, snap, dirty: bool = False, building: bool = False, activity: str | None = None) -> None:
        """Draw ``snap``; ``activity`` (None: the last one given) is the line on growth."""
        if activity is None:
            activity = self._last[3] if getattr(self, "_last", None) and self._last[0].run_id == snap.run_id else ""
        self._last = (snap, dirty, building, activity)
        self.text = strip_html(snap, dirty, building, activity).replace("class='gl-strip'", f"class='gl-strip{' gl-live' if self.live else ''}'", 1)

    @param.depends("live", watch=True)
    def _redraw(self) -> None:
        if getattr(self, "_last", None):
            self.update(*self._last)

    def __panel__(self):
        return self._pane
