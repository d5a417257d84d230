"""Hand-built networks for the analysis tests."""

from __future__ import annotations

import torch

from growlab.engine import Network


def build(sizes, masks=None, alive=None, weights=None, biases=None, activation="relu", population=1, seed=0):
    """A CPU network with the given per-layer edge masks / hidden alive masks / tensors.

    ``masks[l]`` and ``weights[l]`` may be ``(out, in)`` (broadcast to every member) or
    ``(P, out, in)``; ``alive`` maps hidden neuron layer k → ``(cap,)`` or ``(P, cap)``.
    """
    net = Network(sizes, population=population, activation=activation, task="regression",
                  seeds=[seed + p for p in range(population)], device="cpu")  # fmt: skip
    P = population
    with torch.no_grad():
        for l, w in enumerate(weights or []):
            if w is not None:
                net.weights[l].copy_(torch.as_tensor(w, dtype=torch.float32).expand_as(net.weights[l]))
        for l, b in enumerate(biases or []):
            if b is not None:
                net.biases[l].copy_(torch.as_tensor(b, dtype=torch.float32).expand_as(net.biases[l]))
    for l, m in enumerate(masks or []):
        if m is not None:
            m = torch.as_tensor(m, dtype=torch.bool)
            net.set_mask(l, m.expand(P, *m.shape[-2:]).clone())
    for k, a in (alive or {}).items():
        a = torch.as_tensor(a, dtype=torch.bool)
        net.set_alive(k, a.expand(P, a.shape[-1]).clone())
    return net


def T(rows) -> torch.Tensor:
    """A bool tensor from nested 0/1 lists."""
    return torch.tensor(rows, dtype=torch.bool)
