"""Member-exact arithmetic: every member of a population computes exactly as it would alone.

A BLAS product or a vectorised element-wise kernel may round a number differently depending on
where in memory it sits: which SIMD lane it falls in, whether it lands in a vector body or a
scalar tail, how the library blocks a matrix of a given shape. A member stacked at position p
of a population sits elsewhere than the same member alone, so its results could drift in the
last bit and, over hundreds of epochs, into other structural decisions.

growlab therefore stores and multiplies every member's block at widths padded to a multiple of
:data:`ALIGN` floats (64 bytes): each member's weights, activations and gradients then start on
the same boundary and fill whole vectors, alone or at any position of any population, and every
kernel treats them alike. The padding holds zeros and is never trained (its gradients are
masked). A layer's bias is the weight of a constant input 1 (:func:`with_ones`), so a layer is a
single batched product, forward and backward: the bias gradient, a sum over the batch, then
comes out of that product instead of a reduction whose adding order depends on the
population's shape. A hidden layer's outputs reach the next layer with that 1 put in (by
:func:`hidden_input` or :func:`with_ones`), or, after a ReLU, with the 1 the layer computes
itself in its padding (``Network._carrying``).

Checked on the CPU with one torch thread per process (what experiments use): with several,
the library may split a lone member's product over threads differently than a population's.
"""

from __future__ import annotations

import functools
import threading
import weakref
from dataclasses import dataclass, field

import torch

#: widths are padded to a multiple of this many float32 (one 64-byte cache line / AVX-512 vector)
ALIGN = 16


def aligned(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`ALIGN`.

    Example:
        >>> aligned(27), aligned(16), aligned(1)
        (32, 16, 16)
    """
    return -(-int(n) // ALIGN) * ALIGN


def in_width(n: int) -> int:
    """Stored input width of a layer fed by ``n`` units: room for them and the constant 1 that
    carries the bias (see :func:`with_ones`), padded to :data:`ALIGN`."""
    return aligned(n + 1)


def with_ones(a: torch.Tensor, width: int) -> torch.Tensor:
    """``a`` ``(..., n)`` followed by a column of ones and zeros up to ``width``. ``(..., width)``

    A layer's bias is stored as the weight of that constant input, so a layer is one product
    and its bias gradient comes out of the same product (a plain sum over the batch axis would
    add in an order that depends on the population's shape).
    """
    tail = _tail(width - a.shape[-1], a.dtype, a.device)
    return torch.cat([a, tail.expand(*a.shape[:-1], -1)], dim=-1)


def hidden_input(a: torch.Tensor, n: int) -> torch.Tensor:
    """:func:`with_ones` of ``a[..., :n]`` at ``a``'s own width: a layer's activated outputs
    ``a`` ``(..., width)`` as the next layer reads them, the padding columns from ``n`` on
    replaced by the 1 and zeros (one selection, no slice and copy; the same values, and
    backward the same gradients: none to the columns replaced)."""
    keep, tail = _hidden_tail(n, a.shape[-1], a.dtype, a.device)
    return torch.where(keep, a, tail)


@functools.lru_cache(maxsize=None)
def _hidden_tail(n: int, width: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(keep, tail)`` for :func:`hidden_input`: which of ``width`` columns are ``a``'s, and the
    values of the others (a 1 at ``n``, zeros after), made once (never written to)."""
    keep = torch.arange(width, device=device) < n
    return keep, torch.cat([torch.zeros(n, dtype=dtype, device=device), _tail(width - n, dtype, device)])


@functools.lru_cache(maxsize=None)
def _tail(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``[1, 0, …, 0]`` of length ``n``, made once per length, dtype and device (never written to:
    :func:`with_ones` only reads it; a layer's forward needs no allocation of its own for it)."""
    tail = torch.zeros(n, dtype=dtype, device=device)
    tail[0] = 1.0
    return tail


#: data tensors whose padded copy :func:`padded_data` keeps (the training and validation sets of a few runs)
KEPT_DATA = 8
_DATA: dict[tuple, tuple] = {}  # (id(x), width) → (weakref to x, x's version, padded copy)
_DATA_LOCK = threading.Lock()


def padded_data(x: torch.Tensor, width: int) -> torch.Tensor:
    """:func:`with_ones` of a data set ``x`` (rows of inputs), kept while ``x`` lives unchanged.

    A training set is padded once instead of once per batch (a batch is then a selection of
    the padded rows: the same values as padding the selected rows), a validation set once
    instead of once per epoch. The copy is made again when ``x`` is written to in place; it
    goes when ``x`` does, or when :data:`KEPT_DATA` newer data sets have been padded.
    """
    key = (id(x), int(width))
    with _DATA_LOCK:
        kept = _DATA.get(key)
    if kept is not None and kept[0]() is x and kept[1] == x._version:
        return kept[2]
    out = with_ones(x.detach(), width)
    ref = weakref.ref(x, lambda _, key=key: _drop(key))
    with _DATA_LOCK:
        _DATA[key] = (ref, x._version, out)
        while len(_DATA) > KEPT_DATA:
            _DATA.pop(next(iter(_DATA)))
    return out


def _drop(key: tuple) -> None:
    with _DATA_LOCK:
        kept = _DATA.get(key)
        if kept is not None and kept[0]() is None:
            del _DATA[key]


def member_linear(h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``h @ w`` for every member: ``h`` ``(P, B, in_pad)`` (an input expanded over P is fine),
    ``w`` ``(P, in_pad, out_pad)`` (a layer's weights transposed) with the bias in the row of
    the constant input. ``(P, B, out_pad)``"""
    return torch.bmm(h, w)


@dataclass
class Trace:
    """What :meth:`~growlab.engine.Network.trace` keeps of a forward pass.

    ``inputs`` and ``pre`` are at padded widths (crop with ``[..., :n]``).

    Attributes:
        outputs: the network's outputs ``(P, B, n_out)``.
        inputs: each weight layer's input ``(P, B, in_pad)`` (layer 0: the data), the constant
            1 of the bias at position ``widths[l]`` (after a flatten: at ``C·H·W``); a conv
            layer's input maps ``(P, B, C_in_cap, H, W)``.
        pre: each weight layer's output before the activation ``(P, B, out_pad)``; a conv
            layer's before pooling and activation ``(P, B, C_out_cap, H', W')``.
        widths: the true width (capacity) of each neuron layer (channels of a channel layer).
        maps: a conv network's channel layers after pooling and activation, the images
            first, ``(P, B, C, H, W)`` each; empty for an MLP.
    """

    outputs: torch.Tensor
    inputs: list[torch.Tensor]
    pre: list[torch.Tensor]
    widths: tuple[int, ...]
    maps: list[torch.Tensor] = field(default_factory=list)

    def hidden(self, k: int) -> torch.Tensor:
        """Outputs of neuron layer ``k`` after its activation (``k = 0``: the data). ``(P, B, cap[k])``;
        a channel layer's maps ``(P, B, cap[k], H, W)``."""
        if k < len(self.maps):
            return self.maps[k]
        return self.inputs[k][..., : self.widths[k]]
