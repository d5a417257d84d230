"""A conv network as plain arrays for the UI: its channel graph, kernel taps and feature maps.

The diagram draws a conv network as its channel graph (DESIGN §3b): nodes are channels (and,
after the flatten, dense neurons), an edge is a kernel (or a channel's block of H·W flattened
columns into a neuron). :func:`conv_fields` gives the :class:`~growlab.run.snapshot.Snapshot`
fields in exactly the MLP form — per weight layer ``(out, in)`` arrays — so every overlay the
MLP diagram draws (grown, pruned, redundant, focal, hollow, dormant) works unchanged, and
:func:`conv_extra` adds what only a conv network has (``snapshot.extra["conv"]``):

- ``kernel``, ``pool``: per conv layer; ``maps``: ``(H, W)`` of every channel layer (image first);
- ``taps``, ``tap_mask``: per conv layer ``(out, in, k, k)`` member-0 weights and live taps;
- ``live``: per weight layer ``(out, in)`` fraction of an edge's taps that are live;
- ``example``, ``n_examples``, ``label``, ``predicted``: the validation example shown;
- ``image``: that example ``(H, W)`` (channels averaged); ``features``: per conv layer the
  maps ``(C_cap, H, W)`` after pooling and activation on it.

An edge's weight (``weights``) is the L2 norm of its live taps signed like their sum: the sum
is what a constant map sends through the kernel, so the sign reads "excites or inhibits on
average", and the diagram's width ∝ |weight| is the kernel's norm.
"""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def conv_fields(net, redundant_taps=None) -> dict:
    """Snapshot fields of conv network ``net`` (member 0) on its channel graph.

    Args:
        net: an engine ``Network`` with ``n_conv > 0``.
        redundant_taps: per weight layer, the redundant-connection masks at weight shape
            ``(P, *weight_shape)`` (from :func:`growlab.analysis.redundant_connections`), or None.

    Returns:
        ``weights``, ``masks``, ``birth_epoch``, ``redundant`` as tuples of ``(out, in)``
        arrays, ready for :class:`~growlab.run.snapshot.Snapshot`.
    """
    weights, masks, births, reds = [], [], [], []
    for l in range(net.n_layers):
        active = net.taps(l, net.active_float(l)[:1].bool())[0]  # (out, in, fan)
        w = net.taps(l, net.weights[l][:1].detach())[0] * active  # (out, in, fan), inactive taps 0
        norm = w.square().sum(dim=-1).sqrt()
        weights.append(torch.where(w.sum(dim=-1) < 0, -norm, norm).cpu().numpy().astype(np.float32))
        masks.append(active.any(dim=-1).cpu().numpy())
        born = net.taps(l, net.birth_epoch[l][:1])[0].to(torch.int64)
        # an edge's birth: its oldest live tap (a kernel exists from its first surviving tap)
        big = torch.iinfo(torch.int64).max
        first = torch.where(active, born, torch.full_like(born, big)).min(dim=-1).values
        first = torch.where(first == big, born.max(dim=-1).values, first)
        births.append(first.cpu().numpy().astype(np.int32))
        if redundant_taps is not None:
            reds.append(net.edges(l, redundant_taps[l][:1].to(torch.bool))[0].cpu().numpy().astype(bool))
    return {
        "weights": tuple(weights),
        "masks": tuple(masks),
        "birth_epoch": tuple(births),
        "redundant": tuple(reds) if redundant_taps is not None else None,
    }


def clamp_example(data, example) -> int:
    """A validation row index within range (0 when ``example`` is None or out of range)."""
    n = int(data.n_val)
    try:
        i = int(example)
    except (TypeError, ValueError):
        return 0
    return i if 0 <= i < n else 0


@torch.no_grad()
def conv_extra(run, example: int = 0) -> dict:
    """``{"conv": {...}}`` for ``snapshot.extra`` (see the module docstring)."""
    net, data = run.network, run.data
    i = clamp_example(data, example)
    x = data.X_val[i : i + 1].to(net.device)
    tr = net.trace(x)
    C, H, W = net.image
    image = x.reshape(C, H, W).mean(dim=0).cpu().numpy().astype(np.float32)
    features = tuple(m[0, 0].cpu().numpy().astype(np.float32).copy() for m in tr.maps[1:])
    out = tr.outputs[0, 0]
    if data.task == "binary":
        predicted = int(out.reshape(-1)[0] > 0)
    elif data.task == "multiclass":
        predicted = int(out.argmax())
    else:
        predicted = None
    taps, tap_mask, live = [], [], []
    for l in range(net.n_layers):
        act = net.active_float(l)[:1]
        w = net.weights[l][:1].detach() * act
        a = net.taps(l, act)[0]  # (out, in, fan)
        live.append((a.sum(dim=-1) / a.shape[-1]).cpu().numpy().astype(np.float32))
        if l < net.n_conv:
            taps.append(w[0].cpu().numpy().astype(np.float32))
            tap_mask.append(act[0].bool().cpu().numpy())
    return {
        "conv": {
            "n_conv": int(net.n_conv),
            "kernel": tuple(int(k.kernel) for k in net.kernels),
            "pool": tuple(int(k.pool) for k in net.kernels),
            "maps": tuple(tuple(int(v) for v in hw) for hw in net.maps),
            "taps": tuple(taps),
            "tap_mask": tuple(tap_mask),
            "live": tuple(live),
            "example": i,
            "n_examples": int(data.n_val),
            "label": int(data.y_val[i]) if data.task != "regression" else None,
            "predicted": predicted,
            "image": image,
            "features": features,
        }
    }
