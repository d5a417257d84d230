"""Immutable CPU snapshots of a run: everything the UI draws, and nothing it can mutate.

The worker thread builds a :class:`Snapshot` after each step; the UI reads the latest one on
a periodic callback. Arrays are numpy copies, so reading them never races the trainer.
History rows and events are append-only in the run; a snapshot carries their counts and the
rows added recently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from growlab.analysis import redundant_connections
from growlab.run.conv_snapshot import conv_extra, conv_fields

#: Epochs a grown or pruned connection stays highlighted (fading) on the diagram.
FADE_EPOCHS = 10
#: Side of the decision-boundary grid for 2-D datasets.
BOUNDARY_GRID = 60


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What the UI needs from a single-member run at one moment.

    Layer ``l`` arrays are ``(cap[l+1], cap[l])`` (target × source), neuron arrays ``(cap[k],)``.
    """

    version: int
    epoch: int
    epochs: int
    step: int
    status: str  # ready | running | paused | finished | diverged | error
    error: str | None
    dataset: str
    method: str
    task: str
    sizes: tuple[int, ...]
    capacity: tuple[int, ...]
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    image_shape: tuple[int, int] | None
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]  # bool, active connections (edge mask and both ends alive)
    alive: tuple[np.ndarray, ...]  # bool per neuron layer
    birth_epoch: tuple[np.ndarray, ...]
    redundant: tuple[np.ndarray, ...] | None  # bool like masks, when the analysis is available
    recent: pd.DataFrame  # grow/prune events of the last FADE_EPOCHS epochs
    overlays: dict[str, Any]
    params: dict[str, Any]
    n_history: int
    n_events: int
    last_row: dict
    boundary: dict | None = None  # {"x": (G,), "y": (G,), "p": (G, G)} for 2-D datasets
    extra: dict = field(default_factory=dict)
    run_id: int = 0  # changes when a runner replaces its run (Reset): views clear per-run state

    @property
    def n_layers(self) -> int:
        return len(self.weights)


def _np(ts) -> tuple[np.ndarray, ...]:
    return tuple(t[0].detach().cpu().numpy().copy() for t in ts)


def _redundant(net) -> tuple[np.ndarray, ...]:
    """Member 0's redundant connections per layer (see :func:`growlab.analysis.redundant_connections`)."""
    return tuple(m[0].cpu().numpy().astype(bool) for m in redundant_connections(net).masks)


def _edges(net) -> dict:
    """Per-edge snapshot fields and conv extras: a conv network is drawn as its channel graph."""
    if not net.n_conv:
        return {
            "weights": _np(net.weights),
            "masks": tuple(net.active_float(l)[0].cpu().numpy().astype(bool) for l in range(net.n_layers)),
            "birth_epoch": _np(net.birth_epoch),
            "redundant": _redundant(net),
        }
    return conv_fields(net, redundant_connections(net).masks)


@torch.no_grad()
def _boundary(run) -> dict | None:
    data = run.data
    if data.n_inputs != 2 or data.task == "regression":
        return None
    X = torch.cat([data.X_train, data.X_val])
    lo, hi = X.min(dim=0).values - 0.5, X.max(dim=0).values + 0.5
    gx = torch.linspace(float(lo[0]), float(hi[0]), BOUNDARY_GRID)
    gy = torch.linspace(float(lo[1]), float(hi[1]), BOUNDARY_GRID)
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    p = run.predict(grid)  # binary (G·G,), multiclass (G·G, C)
    p = p.reshape(BOUNDARY_GRID, BOUNDARY_GRID, *p.shape[1:])
    return {"x": gx.numpy(), "y": gy.numpy(), "p": p}


def _points(run) -> dict:
    """The data points a 2-D boundary is drawn over: ``{"points": {"x", "y", "label", "split"}}``.

    Standardized coordinates (like the boundary grid); ``split`` is 0 for training rows and 1
    for validation rows. Empty for other datasets.
    """
    data = run.data
    if data.n_inputs != 2 or data.task == "regression":
        return {}
    X = torch.cat([data.X_train, data.X_val]).cpu().numpy()
    label = torch.cat([data.y_train, data.y_val]).cpu().numpy().astype(np.int64)
    split = np.repeat(np.array([0, 1], np.int8), [data.n_train, data.n_val])
    return {"points": {"x": X[:, 0].copy(), "y": X[:, 1].copy(), "label": label, "split": split}}


def _channel_names(net) -> tuple[str, ...]:
    c = net.capacity[0]
    return ("image",) if c == 1 else tuple(f"image ch {i}" for i in range(c))


def snapshot_of(
    run, version: int = 0, status: str | None = None, error: str | None = None, run_id: int = 0, extra: dict | None = None,
    example: int = 0,
) -> Snapshot:
    """Build a snapshot of ``run`` (call from the thread that trains it).

    A conv network is given as its channel graph, with kernel taps and the feature maps of
    validation example ``example`` in ``extra["conv"]`` (see :mod:`growlab.run.conv_snapshot`).
    """
    net, data = run.network, run.data
    edges = _edges(net)
    conv = conv_extra(run, example) if net.n_conv else {}
    log = run.event_log.columns
    n_events = len(log["epoch"])
    # recent grow/prune events: scan back from the end (events are in epoch order), but not
    # past a "bridge" (ODF2NNA removed a layer): earlier events index the old layer layout
    start = n_events
    while start > 0 and log["epoch"][start - 1] >= run.epoch - FADE_EPOCHS and log["kind"][start - 1] != "bridge":
        start -= 1
    recent = pd.DataFrame({c: v[start:n_events] for c, v in log.items()})
    removed = []  # units removed in that window (ODF2NNA's unit_remove), drawn as removal
    if len(recent):
        gone = recent[recent["kind"] == "unit_remove"]
        removed = [(int(k), int(u)) for k, u in zip(gone["layer"], gone["source"]) if k == k and u == u]
        recent = recent[recent["kind"].isin(["grow", "prune"])].reset_index(drop=True)
    return Snapshot(
        version=version,
        epoch=run.epoch,
        epochs=run.epochs,
        step=run.trainer.steps,
        status=status or run.status,
        error=error,
        dataset=data.name,
        method=run.config.method,
        task=data.task,
        sizes=tuple(net.sizes),
        capacity=tuple(net.capacity),
        # a conv network's inputs are its image channels, not pixels (the image is in extra["conv"])
        feature_names=_channel_names(net) if net.n_conv else tuple(data.feature_names),
        class_names=tuple(data.class_names),
        image_shape=None if net.n_conv else data.image_shape,
        biases=_np(net.biases),
        alive=_np(net.alive),
        **edges,
        recent=recent,
        overlays=dict(run.method.overlays()),
        params=run.params(),
        n_history=run.n_rows,
        n_events=n_events,
        last_row=run.last_row,
        boundary=_boundary(run),
        extra={**_points(run), "removed_units": removed, **conv, **(extra or {})},
        run_id=run_id,
    )
