"""Compaction and export: the smaller plain-torch model a user takes away.

:func:`compact` DAG-prunes one member (see :mod:`growlab.analysis.dag`), keeps only the
hidden neurons on some input → output path, and returns a ``torch.nn.Sequential`` of
smaller ``Linear`` layers whose outputs equal the member's. Inputs and outputs are all
kept, so the model takes the same (standardized) features. A hidden layer left with no
neuron on a path keeps one zero placeholder unit (zero weights in and out, zero bias) so
every ``Linear`` has a non-zero size; the outputs are then the constants in their biases.

:func:`save_export` writes a file that plain torch loads, with no growlab and no pickle::

    import torch
    blob = torch.load("model.pt", weights_only=True)
    sizes, Act = blob["sizes"], getattr(torch.nn, blob["activation"])
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(Act())
    model = torch.nn.Sequential(*layers)
    if blob["pruned"]:  # --format prune: weight_orig / weight_mask, as torch.nn.utils.prune
        for linear in model[::2]:
            torch.nn.utils.prune.identity(linear, "weight")
    model.load_state_dict(blob["state_dict"])
    model.eval()

Inputs are standardized columns: ``x = (raw - blob["input_mean"]) / blob["input_std"]`` in
the order of ``blob["feature_names"]`` (categorical columns one-hot encoded first). Binary
tasks output one logit (apply ``torch.sigmoid``), multiclass C logits, regression one
standardized value (``blob["target_mean"] + blob["target_std"] * y``).
"""

from __future__ import annotations

import os

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from growlab.analysis.dag import prune_redundant
from growlab.analysis.paths import reachability
from growlab.engine import Network

FORMAT = "growlab-model"
VERSION = 1
#: growlab activation → the ``torch.nn`` module class name (defaults match ``F.*``)
TORCH_ACTIVATIONS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def _single(network: Network, member: int) -> Network:
    if not 0 <= member < network.population:
        raise ValueError(f"member must be in 0..{network.population - 1}, got {member}")
    return network if network.population == 1 else network.member(member)


@torch.no_grad()
def compact_layers(network: Network, member: int = 0) -> tuple[list[tuple], list[list[int]]]:
    """The compacted layers of one member as tensors, and which neurons each layer kept.

    Returns:
        ``(layers, kept)``: per weight layer ``(weight (out, in), bias (out,), mask (out, in)
        bool)`` on the CPU; per neuron layer the kept neuron indices (``[]`` for a hidden
        layer that only has the placeholder unit).
    """
    network.require_mlp("growlab.analysis.compact_layers")
    net, _ = prune_redundant(_single(network, member))
    on_path = reachability(net).on_path
    kept = [list(range(net.sizes[0]))]
    kept += [on_path[k][0].nonzero().flatten().tolist() for k in range(1, len(net.sizes) - 1)]
    kept += [list(range(net.sizes[-1]))]
    layers = []
    for l in range(net.n_layers):
        rows, cols = kept[l + 1], kept[l]
        n_out, n_in = max(len(rows), 1), max(len(cols), 1)  # placeholder unit when empty
        w = torch.zeros(n_out, n_in)
        b = torch.zeros(n_out)
        m = torch.zeros(n_out, n_in, dtype=torch.bool)
        if rows and cols:
            r, c = torch.tensor(rows), torch.tensor(cols)
            w[: len(rows), : len(cols)] = net.weights[l][0].detach().cpu()[r][:, c]
            m[: len(rows), : len(cols)] = net.effective_mask(l)[0].cpu()[r][:, c]
        if rows:
            b[: len(rows)] = net.biases[l][0].detach().cpu()[torch.tensor(rows)]
        layers.append((w, b, m))
    return layers, kept


def _sequential(layers: list[tuple], activation: str) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i, (w, b, _) in enumerate(layers):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        mods.append(lin)
        if i < len(layers) - 1:
            mods.append(getattr(nn, TORCH_ACTIVATIONS[activation])())
    return nn.Sequential(*mods)


def compact(network: Network, member: int = 0) -> nn.Sequential:
    """A plain ``nn.Sequential`` of one member without dead, removed or redundant parts.

    Args:
        network: a population; ``member`` picks one.
        member: which member to compact.

    Returns:
        ``Linear`` layers (inactive connections as zeros) with the hidden activation's
        ``nn`` module between them, on the CPU; outputs equal ``network(x)[member]``.

    Example:
        >>> net = Network((3, 4, 1), device="cpu")
        >>> _ = net.set_mask(1, torch.tensor([[[True, True, False, False]]]))
        >>> model = compact(net)              # hidden units 2 and 3 reach no output
        >>> model[0].weight.shape
        torch.Size([2, 3])
        >>> x = torch.randn(4, 3)
        >>> torch.allclose(model(x), net(x)[0], atol=1e-6)
        True
    """
    network.require_mlp("growlab.analysis.compact")
    layers, _ = compact_layers(network, member)
    return _sequential(layers, network.activation)


def to_torch_prune(network: Network, member: int = 0) -> nn.Sequential:
    """:func:`compact`'s model with ``torch.nn.utils.prune`` masks on every ``Linear``.

    Each ``Linear`` gets ``weight_orig`` (parameter), ``weight_mask`` (buffer, the active
    connections) and the forward pre-hook of ``prune.custom_from_mask``, so
    ``prune.is_pruned`` is true, further ``torch.nn.utils.prune`` calls combine with it,
    and ``prune.remove(linear, "weight")`` makes it permanent.

    Example:
        >>> model = to_torch_prune(Network((3, 4, 1), device="cpu"))
        >>> torch_prune.is_pruned(model), sorted(n for n, _ in model[0].named_buffers())
        (True, ['weight_mask'])
    """
    network.require_mlp("growlab.analysis.to_torch_prune")
    layers, _ = compact_layers(network, member)
    model = _sequential(layers, network.activation)
    for lin, (_, _, mask) in zip(model[::2], layers):
        torch_prune.custom_from_mask(lin, "weight", mask)
    return model


def save_export(network: Network, path, fmt: str = "torch", member: int = 0, meta: dict | None = None) -> dict:
    """Write one member's compacted model to ``path`` (loadable by plain torch; see module doc).

    Args:
        network: a population; ``member`` picks one.
        path: output file (written atomically).
        fmt: ``"torch"`` (plain weights) or ``"prune"`` (``weight_orig``/``weight_mask``).
        member: which member.
        meta: plain values stored alongside (feature and class names, dataset, method...).

    Returns:
        The stored dict (without writing it again).
    """
    network.require_mlp("growlab.analysis.save_export")
    if fmt not in ("torch", "prune"):
        raise ValueError(f"format must be 'torch' or 'prune', got {fmt!r}")
    layers, kept = compact_layers(network, member)
    model = _sequential(layers, network.activation)
    if fmt == "prune":
        for lin, (_, _, mask) in zip(model[::2], layers):
            torch_prune.custom_from_mask(lin, "weight", mask)
    blob = {
        **(meta or {}),
        "format": FORMAT, "version": VERSION, "pruned": fmt == "prune",
        "sizes": [layers[0][0].shape[1]] + [w.shape[0] for w, _, _ in layers],
        "activation": TORCH_ACTIVATIONS[network.activation], "task": network.task,
        "kept_neurons": kept, "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
    }  # fmt: skip
    _atomic_save(blob, os.fspath(path))
    return blob


def _atomic_save(obj, path: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_export(path) -> nn.Sequential:
    """Rebuild the model written by :func:`save_export` (what the module doc's snippet does)."""
    blob = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a growlab model export")
    sizes, act = blob["sizes"], getattr(nn, blob["activation"])
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(act())
    model = nn.Sequential(*layers)
    if blob["pruned"]:
        for linear in model[::2]:
            torch_prune.identity(linear, "weight")
    model.load_state_dict(blob["state_dict"])
    return model.eval()
