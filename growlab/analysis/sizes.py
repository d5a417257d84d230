"""Size figures: parameters, FLOPs, density per layer, compression ratio against dense.

Conventions: *parameters* are active connections plus the biases of alive neurons (hidden
and output); *FLOPs* per example are 2 × active connections (one multiply and one add
each; biases and activations are not counted), a conv kernel tap counting once at every
position of its output map (before pooling); the *dense* reference is the fully connected
network of the configured widths (``network.sizes``; a conv network's every kernel tap between
its configured channels); per-layer density is against the layer's capacity, like
``Network.density``. "After DAG pruning" figures are
those of :func:`growlab.analysis.compact`'s model: only connections and hidden neurons on
an input → output path, plus every output bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from growlab.analysis.paths import redundant_connections
from growlab.engine import Network


def dense_params(sizes) -> int:
    """Weights and biases of the fully connected network of ``sizes``.

    Example:
        >>> dense_params((27, 16, 8, 1))
        593
    """
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


@torch.no_grad()
def size_table(network: Network) -> pd.DataFrame:
    """Size figures of every member (vectorized), one row per member.

    Columns: ``connections, params, flops, redundant, compact_params, compact_flops,
    density, compression, compact_compression`` (compressions are dense params ÷ params).

    Example:
        >>> size_table(Network((27, 16, 8, 1), device="cpu"))[["params", "compression"]].to_dict("records")
        [{'params': 593, 'compression': 1.0}]
    """
    red = redundant_connections(network)
    conn = network.n_active()  # (P,)
    redundant = red.counts  # (P,)
    on_path = red.reach.on_path
    hidden_on_path = sum(on_path[k].sum(dim=1) for k in range(1, len(on_path) - 1))  # (P,)
    compact = conn - redundant + hidden_on_path + network.sizes[-1]
    dense = network_dense_params(network)
    params = network.n_params()
    flops, compact_flops = 2 * conn, 2 * (conn - redundant)
    if network.n_conv:  # a kernel tap works at every position of its output map
        flops = 2 * sum(per_layer(network.effective_mask(l)) * network.positions(l) for l in range(network.n_layers))
        compact_flops = flops - 2 * sum(per_layer(red.masks[l]) * network.positions(l) for l in range(network.n_layers))
    frame = pd.DataFrame({
        "connections": conn.cpu().numpy(), "params": params.cpu().numpy(), "flops": flops.cpu().numpy(),
        "redundant": redundant.cpu().numpy(), "compact_params": compact.cpu().numpy(),
        "compact_flops": compact_flops.cpu().numpy(), "density": network.density().cpu().numpy(),
    })  # fmt: skip
    frame["compression"] = dense / frame["params"].clip(lower=1)
    frame["compact_compression"] = dense / frame["compact_params"].clip(lower=1)
    return frame


@dataclass(frozen=True)
class Summary:
    """Size figures of one member: a per-layer table and totals."""

    layers: pd.DataFrame
    totals: dict

    def __str__(self) -> str:
        t = self.totals
        table = self.layers.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return (
            f"{table}\nparameters {t['params']} of {t['dense_params']} dense "
            f"(compression {t['compression']:.2f}×), FLOPs {t['flops']} of {t['dense_flops']}; "
            f"{t['redundant']} redundant connections; after DAG pruning and compaction "
            f"{t['compact_params']} parameters (compression {t['compact_compression']:.2f}×)"
        )


@torch.no_grad()
def summary(network: Network, member: int = 0) -> Summary:
    """Parameters, FLOPs, density per layer and compression ratio of one member.

    Returns:
        A :class:`Summary`: ``layers`` has one row per weight layer (``layer, inputs,
        outputs, connections, possible, density, redundant, params, flops``, widths counting
        alive neurons); ``totals`` holds the :func:`size_table` row plus ``dense_params`` and
        ``dense_flops``. ``print(summary(net))`` shows both.

    Example:
        >>> s = summary(Network((27, 16, 8, 1), device="cpu"))
        >>> s.totals["params"], s.totals["flops"], s.layers["density"].tolist()
        (593, 1136, [1.0, 1.0, 1.0])
    """
    red = redundant_connections(network)
    rows = []
    for l in range(network.n_layers):
        active = network.effective_mask(l)[member]
        n, n_in, n_out = int(active.sum()), int(network.alive[l][member].sum()), int(network.alive[l + 1][member].sum())
        rows.append({
            "layer": l, "inputs": n_in, "outputs": n_out, "connections": n, "possible": active.numel(),
            "density": n / active.numel(), "redundant": int(red.masks[l][member].sum()), "params": n + n_out,
            "flops": 2 * n * network.positions(l),
        })  # fmt: skip
    layers = pd.DataFrame(rows)
    if network.n_conv:  # which layers are conv (k×k kernels), the flatten's, dense
        layers.insert(1, "kind", [_kind(network, l) for l in range(network.n_layers)])
    row = size_table(network).iloc[member]
    floats = ("density", "compression", "compact_compression")
    totals = {k: float(v) if k in floats else int(v) for k, v in row.items()}
    sizes = network.sizes
    dense_flops = 2 * sum(sizes[l] * sizes[l + 1] * network.fan(l) * network.positions(l) for l in range(len(sizes) - 1))
    totals.update(dense_params=network_dense_params(network), dense_flops=dense_flops)
    return Summary(layers, totals)


def network_dense_params(network: Network) -> int:
    """Weights and biases of the fully connected network of ``network``'s configured widths
    (a conv network: every kernel tap between its configured channels)."""
    if not network.n_conv:
        return dense_params(network.sizes)
    return network.n_dense() + sum(network.sizes[1:])


def per_layer(mask: torch.Tensor) -> torch.Tensor:
    """True entries of a per-member mask ``(P, …)`` per member ``(P,)``."""
    return mask.flatten(1).sum(dim=1)


def _kind(network: Network, l: int) -> str:
    if l < network.n_conv:
        k = network.kernels[l]
        return f"conv {k.kernel}×{k.kernel}" + (f" + pool {k.pool}" if k.pool > 1 else "")
    return "flatten → dense" if l == network.n_conv else "dense"
