"""Compaction and export: the smaller plain-torch model a user takes away.

:func:`compact` DAG-prunes one member (see :mod:`growlab.analysis.dag`), keeps only the
hidden neurons on some input → output path, and returns a ``torch.nn.Sequential`` of
smaller ``Linear`` layers whose outputs equal the member's. Inputs and outputs are all
kept, so the model takes the same (standardized) features. A hidden layer left with no
neuron on a path keeps one zero placeholder unit (zero weights in and out, zero bias) so
every ``Linear`` has a non-zero size; the outputs are then the constants in their biases.

A conv network compacts on its channel graph: ``Conv2d`` layers keep only the channels on a
path (a dead or removed channel is physically gone, with its kernels and its block of
flattened columns), then ``Flatten`` and ``Linear``; the model reads images ``(B, C, H, W)``
(``x.view(-1, *blob["image"])`` of growlab's rows), like ``Network.to_sequential``.

:func:`save_export` writes a file that plain torch loads, with no growlab and no pickle; its
``modules`` list names every layer and its arguments::

    import torch
    blob = torch.load("model.pt", weights_only=True)
    model = torch.nn.Sequential(*(getattr(torch.nn, name)(*args) for name, *args in blob["modules"]))
    if blob["pruned"]:  # --format prune: weight_orig / weight_mask, as torch.nn.utils.prune
        for layer in model:
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.utils.prune.identity(layer, "weight")
    model.load_state_dict(blob["state_dict"])
    model.eval()

Inputs are standardized columns: ``x = (raw - blob["input_mean"]) / blob["input_std"]`` in
the order of ``blob["feature_names"]`` (categorical columns one-hot encoded first; a conv
model's pixels then viewed as ``blob["image"]``). Binary tasks output one logit (apply
``torch.sigmoid``), multiclass C logits, regression one standardized value
(``blob["target_mean"] + blob["target_std"] * y``).
"""

from __future__ import annotations

import os
import pickle
import warnings

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from growlab.analysis.dag import prune_redundant
from growlab.analysis.paths import reachability
from growlab.engine import Network
from growlab.engine.activations import TABLE as ACTIVATION_TABLE
from growlab.engine.activations import activation_module

FORMAT = "growlab-model"
VERSION = 1
#: the ``torch.nn`` modules an export's ``modules`` list may name
MODULES = ("Linear", "Conv2d", "MaxPool2d", "Flatten", *(module.__name__ for _, module in ACTIVATION_TABLE.values()))


def _single(network: Network, member: int) -> Network:
    if not 0 <= member < network.population:
        raise ValueError(f"member must be in 0..{network.population - 1}, got {member}")
    return network if network.population == 1 else network.member(member)


@torch.no_grad()
def compact_layers(network: Network, member: int = 0) -> tuple[list[tuple], list[list[int]]]:
    """The compacted layers of one member as tensors, and which neurons each layer kept.

    Returns:
        ``(layers, kept)``: per weight layer ``(weight (out, in), bias (out,), mask (out, in)
        bool)`` on the CPU (a conv layer's weight and mask ``(out, in, k, k)``; after the flatten,
        the kept channels' columns); per neuron layer the kept neuron (channel) indices (``[]``
        for a hidden layer that only has the placeholder unit).
    """
    net, report = prune_redundant(_single(network, member))
    reach = reachability(net)
    on_path = [p | (h & b) for p, h, b in zip(reach.on_path, report.held, reach.backward)]  # see dag
    kept = [list(range(net.sizes[0]))]
    kept += [on_path[k][0].nonzero().flatten().tolist() for k in range(1, len(net.sizes) - 1)]
    kept += [list(range(net.sizes[-1]))]
    layers = []
    for l in range(net.n_layers):
        rows, cols = kept[l + 1], kept[l]
        fan = net.fan(l) if l == net.n_conv and net.n_conv else 1  # flatten: each channel's columns
        taps = tuple(net.weight_shape(l)[2:])
        n_out, n_in = max(len(rows), 1), max(len(cols), 1) * fan  # placeholder unit when empty
        w = torch.zeros(n_out, n_in, *taps)
        b = torch.zeros(n_out)
        m = torch.zeros(n_out, n_in, *taps, dtype=torch.bool)
        if rows and cols:
            r = torch.tensor(rows)
            c = (torch.tensor(cols)[:, None] * fan + torch.arange(fan)).flatten()
            w[: len(rows), : len(c)] = net.weights[l][0].detach().cpu()[r][:, c]
            m[: len(rows), : len(c)] = net.effective_mask(l)[0].cpu()[r][:, c]
        if rows:
            b[: len(rows)] = net.biases[l][0].detach().cpu()[torch.tensor(rows)]
        layers.append((w, b, m))
    return layers, kept


def modules_spec(network: Network, layers: list[tuple]) -> list[list]:
    """The compacted model as ``[name, *args]`` of ``torch.nn`` modules (plain values: what an
    export file stores and plain torch rebuilds)."""
    act, spec = activation_module(network.activation).__name__, []
    for l, (w, _, _) in enumerate(layers):
        if l < network.n_conv:
            k = network.kernels[l]
            spec.append(["Conv2d", int(w.shape[1]), int(w.shape[0]), k.kernel, k.stride, k.padding])
        else:
            if l == network.n_conv and network.n_conv:
                spec.append(["Flatten"])
            spec.append(["Linear", int(w.shape[1]), int(w.shape[0])])
        if l < len(layers) - 1:
            spec.append([act])
        if l < network.n_conv and network.kernels[l].pool > 1:
            spec.append(["MaxPool2d", network.kernels[l].pool])
    return spec


def _sequential(layers: list[tuple], network: Network) -> nn.Sequential:
    model = nn.Sequential(*(getattr(nn, name)(*args) for name, *args in modules_spec(network, layers)))
    with torch.no_grad():
        for layer, (w, b, _) in zip(_weighted(model), layers):
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    return model


def _weighted(model: nn.Sequential) -> list[nn.Module]:
    """The ``Linear`` and ``Conv2d`` layers of ``model``, in order."""
    return [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]


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
    layers, _ = compact_layers(network, member)
    return _sequential(layers, network)


def to_torch_prune(network: Network, member: int = 0) -> nn.Sequential:
    """:func:`compact`'s model with ``torch.nn.utils.prune`` masks on every ``Linear`` (and ``Conv2d``).

    Each layer gets ``weight_orig`` (parameter), ``weight_mask`` (buffer, the active
    connections) and the forward pre-hook of ``prune.custom_from_mask``, so
    ``prune.is_pruned`` is true, further ``torch.nn.utils.prune`` calls combine with it,
    and ``prune.remove(linear, "weight")`` makes it permanent.

    Example:
        >>> model = to_torch_prune(Network((3, 4, 1), device="cpu"))
        >>> torch_prune.is_pruned(model), sorted(n for n, _ in model[0].named_buffers())
        (True, ['weight_mask'])
    """
    layers, _ = compact_layers(network, member)
    model = _sequential(layers, network)
    for layer, (_, _, mask) in zip(_weighted(model), layers):
        torch_prune.custom_from_mask(layer, "weight", mask)
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
    if fmt not in ("torch", "prune"):
        raise ValueError(f"format must be 'torch' or 'prune', got {fmt!r}")
    layers, kept = compact_layers(network, member)
    model = _sequential(layers, network)
    if fmt == "prune":
        for layer, (_, _, mask) in zip(_weighted(model), layers):
            torch_prune.custom_from_mask(layer, "weight", mask)
    conv = {}
    if network.n_conv:
        conv = {"image": list(network.image), "kernels": [[k.kernel, k.stride, k.padding, k.pool] for k in network.kernels]}
    blob = {
        **(meta or {}),
        "format": FORMAT, "version": VERSION, "pruned": fmt == "prune",
        "sizes": [layers[0][0].shape[1]] + [w.shape[0] for w, _, _ in layers], **conv,
        "modules": modules_spec(network, layers),
        "activation": activation_module(network.activation).__name__, "task": network.task,
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
    """Rebuild the model written by :func:`save_export` (what the module doc's snippet does).

    Raises:
        FileNotFoundError: no such file.
        ValueError: anything else wrong with it (not a torch file, not a growlab export, a
            damaged one), in one sentence; nothing is unpickled beyond tensors and plain values.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such model export: {path}")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not the user's business
            warnings.simplefilter("ignore", UserWarning)
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's message would advise weights_only=False: never do that
        raise ValueError(
            f"{path} is not a growlab model export (not a torch file, or it holds objects other than tensors "
            "and plain values, which growlab never unpickles)"
        ) from None
    except Exception as e:  # a truncated or corrupted zip...
        raise ValueError(f"{path} is not a readable growlab model export ({_first_line(e)})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a growlab model export")
    try:
        spec = blob.get("modules")
        if spec is None:  # written before conv exports: Linear layers from the sizes
            sizes = [int(n) for n in blob["sizes"]]
            if len(sizes) < 2 or min(sizes) < 1:
                raise ValueError(f"layer sizes {sizes} are not a network")
            act = blob["activation"]
            spec = []
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                spec += [["Linear", n_in, n_out]] + ([[act]] if i < len(sizes) - 2 else [])
        bad = [m for m in spec if not m or m[0] not in MODULES or not all(isinstance(a, int) and a >= 0 for a in m[1:])]
        if bad:
            raise ValueError(f"unexpected layers {bad[:3]} (a growlab export holds only {', '.join(MODULES)})")
        model = nn.Sequential(*(getattr(nn, name)(*args) for name, *args in spec))
        if blob["pruned"]:
            for layer in _weighted(model):
                torch_prune.identity(layer, "weight")
        expected = model.state_dict()
        state = blob["state_dict"]
        if set(state) != set(expected):
            raise ValueError(f"its tensors {sorted(state)[:6]} are not those of its layers")
        for key, t in state.items():
            if not isinstance(t, torch.Tensor) or tuple(t.shape) != tuple(expected[key].shape):
                raise ValueError(f"{key} has shape {tuple(getattr(t, 'shape', ()))}, the network needs {tuple(expected[key].shape)}")
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise ValueError(f"{path} is a damaged growlab model export ({_first_line(e)})") from None
    return model.eval()


def _first_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [""])[0][:200]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
