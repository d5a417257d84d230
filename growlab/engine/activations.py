"""The hidden activations: one table from growlab's names (:data:`growlab.config.ACTIVATIONS`)
to the function the engine calls and the ``torch.nn`` module a copy or an export uses
(their defaults agree: ``F.leaky_relu``'s slope is ``nn.LeakyReLU()``'s)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from growlab.config import ACTIVATIONS

#: name → (function, ``nn`` module class)
TABLE = {
    "relu": (F.relu, nn.ReLU),
    "leaky_relu": (F.leaky_relu, nn.LeakyReLU),
    "tanh": (torch.tanh, nn.Tanh),
    "sigmoid": (torch.sigmoid, nn.Sigmoid),
}
assert tuple(TABLE) == ACTIVATIONS, "growlab.config.ACTIVATIONS and the engine's table must list the same names"
#: the functions of :data:`TABLE` that keep 1 and 0 as they are: after them a hidden layer's
#: outputs already hold the next layer's constant 1 and zero padding (``Network._carrying``)
CARRIES = tuple(fn for fn, _ in TABLE.values() if fn(torch.ones(1)).item() == 1.0 and fn(torch.zeros(1)).item() == 0.0)


def _known(name: str) -> None:
    if name not in TABLE:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")


def activation_fn(name: str):
    """The hidden activation's function by name."""
    _known(name)
    return TABLE[name][0]


def activation_module(name: str) -> type[nn.Module]:
    """The hidden activation's ``torch.nn`` module class by name."""
    _known(name)
    return TABLE[name][1]
