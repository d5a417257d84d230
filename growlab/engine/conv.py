"""Conv layers of a :class:`~growlab.engine.Network`: geometry, stored layout, batched forward.

A network may start with conv layers (DESIGN §3b): channel layers ``0..n_conv`` (the image's
channels, then each conv layer's maps), a flatten, then the dense layers. Conv weight layer
``l`` has weights ``(P, C_out_cap, C_in_cap, k, k)``, an element mask of that shape, biases
``(P, C_out_cap)``, and the channel masks ``alive[l]`` ``(P, C_in_cap)`` / ``alive[l + 1]``
``(P, C_out_cap)``, so that the effective weight is ``W * M * (U_out ⊗ U_in)`` broadcast over
the k×k taps. The dense layer after the flatten reads input column ``c·H·W + y·W + x`` (what
``nn.Flatten`` gives) from channel ``c``: a removed channel removes its whole block of columns.

Each conv layer is stored as one trainable tensor ``(P, C_out_cap, C_in_cap·k·k + 1)``: an
output channel's taps and then its bias, so a layer is one parameter, as the dense layers are.

Members are batched by grouped convolution: the maps of all members are stacked along the
channel axis, ``(B, P·C, H, W)`` in channels-last memory, and one ``conv2d(groups=P)`` computes
every member's convolution (measured on a 2-core CPU at P = 16: about 2× faster than the same
in NCHW memory, and max-pooling ~10× faster). An input shared by every member (evaluation, a
full batch) goes through the first layer as one ordinary convolution with P·C_out maps.

Max-pooling is applied before the activation: every activation here is non-decreasing, so
``act(maxpool(z)) == maxpool(act(z))`` exactly, computed on a quarter of the values. Gradients
are the same too, except where pooled values tie after the activation but not before (relu's
zeros, whose gradient is zero either way, or tanh/sigmoid saturated to the same float).

Member-exactness: unlike the dense layers (:mod:`growlab.engine.products`), the grouped
convolution is **not guaranteed** bit-identical across population sizes: oneDNN picks its
kernels by the channel counts it sees. Measured with torch 2.13 on an AMD EPYC (AVX2) CPU, one
thread: LeNet-5 and small nets on 8×8 images give a member the same outputs and gradients,
bit for bit, alone and in populations of 2 and 4–20, except when a conv layer reads 3 channels
per member, or 3 members read 1-channel images (oneDNN's small-channel kernels): then they
differ by float rounding (~6e-8 in the weights after two epochs); ``benchmarks/bench_conv.py``
re-measures it. A conv network is bit-reproducible run to run at a fixed population size and
device; on CUDA its convolutions run deterministic and in full float32 (:meth:`ConvLayers.conv_flags`).
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
import torch.nn.functional as F

from growlab.config import ConvShape

CHANNELS_LAST = torch.channels_last
#: conv maps (bytes) one evaluation chunk may hold; larger batches are evaluated in chunks
EVAL_CHUNK_BYTES = 64 * 2**20


def conv_maps(image: tuple[int, int, int], kernels: tuple[ConvShape, ...]) -> tuple[tuple[int, int], ...]:
    """``(H, W)`` of every channel layer (the image first) for these conv geometries.

    Example:
        >>> conv_maps((1, 28, 28), (ConvShape(5, pool=2), ConvShape(5, pool=2)))
        ((28, 28), (12, 12), (4, 4))
    """
    h, w = int(image[1]), int(image[2])
    out = [(h, w)]
    for i, k in enumerate(kernels):
        h, w = k.out_hw(h, w)
        if h < 1 or w < 1:
            raise ValueError(f"conv layer {i} ({k}) leaves no map from {out[-1][0]}×{out[-1][1]} inputs")
        out.append((h, w))
    return tuple(out)


class ConvLayers:
    """The conv half of :class:`~growlab.engine.Network` (a mixin): layer geometry, the stored
    layout of every layer's parameter, and the batched forward of the conv layers."""

    # ------------------------------------------------------------------ geometry
    def is_conv(self, layer: int) -> bool:
        """Whether weight layer ``layer`` is a conv layer (the first ``n_conv`` are)."""
        return layer < self.n_conv

    def fan(self, layer: int) -> int:
        """Weights joining one input node of ``layer`` to one output node: the k×k taps of a
        kernel, the H·W columns of a channel after the flatten, else 1."""
        if layer < self.n_conv:
            return self.kernels[layer].kernel ** 2
        if layer == self.n_conv and self.n_conv:
            h, w = self.maps[-1]
            return h * w
        return 1

    def in_features(self, layer: int) -> int:
        """Values per output node that ``layer`` reads: ``C_in_cap·k·k`` for a conv layer,
        ``C·H·W`` after the flatten, the input width otherwise."""
        return self.capacity[layer] * self.fan(layer)

    def in_alive(self, layer: int) -> torch.Tensor:
        """The alive mask of ``layer``'s inputs along its weights' input axis: ``(P, C_in_cap)``
        for a conv layer, each channel repeated over its H·W columns after the flatten."""
        return self.in_alive_of(layer, self.alive[layer])

    def in_alive_of(self, layer: int, units: torch.Tensor) -> torch.Tensor:
        """A per-node mask ``(P, cap[layer])`` of ``layer``'s inputs along its weights' input axis."""
        if layer == self.n_conv and self.n_conv:
            return units.repeat_interleave(self.fan(layer), dim=1)
        return units

    def weight_shape(self, layer: int) -> tuple[int, ...]:
        """True shape of ``layer``'s weights without the member axis."""
        if layer < self.n_conv:
            k = self.kernels[layer].kernel
            return (self.capacity[layer + 1], self.capacity[layer], k, k)
        return (self.capacity[layer + 1], self.in_features(layer))

    def connected(self, layer: int, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` ``(P, *weight_shape)`` restricted to weights whose two ends are alive."""
        out_alive = self.alive[layer + 1]
        if layer < self.n_conv:
            return mask & out_alive[:, :, None, None, None] & self.alive[layer][:, None, :, None, None]
        return mask & out_alive[:, :, None] & self.in_alive(layer)[:, None, :]

    def n_dense(self) -> int:
        """Connections of the fully connected network at the configured widths ``sizes`` (every
        kernel tap of every channel pair; each channel's H·W columns after the flatten).

        Example:
            >>> from growlab.engine import Network
            >>> Network((27, 16, 8, 1)).n_dense()
            568
        """
        return sum(self.sizes[l] * self.sizes[l + 1] * self.fan(l) for l in range(len(self.sizes) - 1))

    # ------------------------------------------------------------------ channel graph
    def per_edge(self, layer: int) -> bool:
        """Whether ``layer`` holds one weight per channel-graph edge, shaped ``(P, out, in)`` (a
        dense layer; not a conv layer, even 1×1, nor the flatten of maps larger than 1×1)."""
        return layer >= self.n_conv and self.fan(layer) == 1

    def taps(self, layer: int, t: torch.Tensor) -> torch.Tensor:
        """``t`` shaped like ``weights[layer]`` (with or without the member axis) as
        ``(..., out, in_nodes, fan)``: the taps of each channel-graph edge — a kernel's k×k,
        a channel's H·W columns after the flatten, a dense weight alone (fan 1)."""
        lead = t.shape[: t.dim() - len(self.weight_shape(layer))]
        return t.reshape(*lead, self.capacity[layer + 1], self.capacity[layer], self.fan(layer))

    def edges(self, layer: int, mask: torch.Tensor) -> torch.Tensor:
        """The channel-graph edges of ``layer`` ``(..., out, in_nodes)`` with any tap of ``mask``
        on (``mask`` itself for a dense layer). A kernel is active when any of its taps is."""
        if self.per_edge(layer):
            return mask
        return self.taps(layer, mask).any(dim=-1)

    def spread(self, layer: int, edges: torch.Tensor) -> torch.Tensor:
        """Per-edge values ``(..., out, in_nodes)`` on every tap of the edge: shaped like
        ``weights[layer]`` (``edges`` itself for a dense layer)."""
        if self.per_edge(layer):
            return edges
        lead = edges.shape[:-2]
        full = edges.unsqueeze(-1).expand(*edges.shape, self.fan(layer))
        return full.reshape(*lead, *self.weight_shape(layer))

    def positions(self, layer: int) -> int:
        """Output positions at which each weight of ``layer`` is applied per example: a conv
        kernel tap at every position of its output map (before pooling), a dense weight once.
        (FLOPs per example are 2 × Σ active weights × positions.)"""
        if layer < self.n_conv:
            h, w = self.kernels[layer].conv_hw(*self.maps[layer])
            return h * w
        return 1

    # ------------------------------------------------------------------ stored layout
    def weight_view(self, layer: int, t: torch.Tensor) -> torch.Tensor:
        """The weights part of a tensor stored like ``layer``'s parameter (the parameter, its
        gradient, an optimizer buffer), at the weights' true shape (a view)."""
        if layer < self.n_conv:
            o, i, k, _ = self.weight_shape(layer)
            return t[:, :o, : i * k * k].unflatten(2, (i, k, k))
        o, i = self.weight_shape(layer)
        return t.transpose(1, 2)[:, :o, :i]

    def bias_view(self, layer: int, t: torch.Tensor) -> torch.Tensor:
        """The biases part of a tensor stored like ``layer``'s parameter ``(P, out)`` (a view)."""
        o, n = self.capacity[layer + 1], self.in_features(layer)
        return t[:, :o, n] if layer < self.n_conv else t[:, n, :o]

    def conv_stored_index(self, layer: int, index: torch.Tensor) -> torch.Tensor:
        """Flat positions in the true-shaped conv weights → positions in the stored tensor."""
        o, n = self.capacity[layer + 1], self.in_features(layer)
        member, rest = index // (o * n), index % (o * n)
        return (member * o + rest // n) * (n + 1) + rest % n

    # ------------------------------------------------------------------ forward
    def conv_features(self, x: torch.Tensor, act: Callable) -> tuple[torch.Tensor, list, list, list]:
        """Run the conv layers on images ``x`` ``(B, C·H·W)`` shared or ``(P, B, C·H·W)`` per member.

        Returns:
            The flattened last maps ``(P, B, C·H·W)``; each conv layer's input and its output
            before pooling and activation, ``(P, B, C, H, W)`` per-member views; and the maps of
            every channel layer after pooling and activation (the images first).
        """
        P, (C, H, W) = self.population, self.image
        shared = x.dim() == 2
        B = x.shape[-2]
        images = x.reshape(B, C, H, W) if shared else x.reshape(P, B, C, H, W)
        maps = [images.unsqueeze(0).expand(P, B, C, H, W) if shared else images]
        if shared:
            h = images.contiguous(memory_format=CHANNELS_LAST)  # (B, C, H, W)
        else:  # members side by side on the channel axis, channels-last: (B, P·C, H, W)
            h = images.permute(1, 3, 4, 0, 2).contiguous().view(B, H, W, P * C).permute(0, 3, 1, 2)
        inputs, pre = [], []
        with self.conv_flags():
            self._conv_layers(h, shared, inputs, pre, maps, act)
        return maps[-1].reshape(P, B, -1), inputs, pre, maps

    def _conv_layers(
        self, h: torch.Tensor, shared: bool, inputs: list, pre: list, maps: list, act: Callable, start: int = 0
    ) -> None:
        """:meth:`conv_features`' layers from ``start`` on ``h`` ``(B, P·C, H, W)``, appending to the lists."""
        P = self.population
        for l in range(start, self.n_conv):
            k = self.kernels[l]
            inputs.append(maps[-1])
            w, b = self._conv_parameters(l)
            groups = 1 if l == 0 and shared else P
            z = F.conv2d(h, w, b, stride=k.stride, padding=k.padding, groups=groups)  # (B, P·C_out, H', W')
            zm = z.unflatten(1, (P, -1)).transpose(0, 1)  # (P, B, C_out, H', W'): what methods read
            pre.append(zm)
            h = self._pool_act(l, zm.transpose(0, 1).flatten(1, 2), act, maps)  # the same memory as z, through the traced view

    def _pool_act(self, l: int, z: torch.Tensor, act: Callable, maps: list) -> torch.Tensor:
        """Conv layer ``l``'s pooling and activation of its output ``z`` ``(B, P·C_out, H', W')``;
        appends the maps ``(P, B, C_out, H'', W'')`` to ``maps`` and returns them stacked."""
        if self.kernels[l].pool > 1:  # pool first: act is non-decreasing, so this equals pooling act(z)
            z = F.max_pool2d(z, self.kernels[l].pool)
        h = act(z)
        maps.append(h.unflatten(1, (self.population, -1)).transpose(0, 1))
        return h

    def conv_resume(self, layer: int, zm: torch.Tensor, act: Callable, inputs: list, pre: list, maps: list) -> torch.Tensor:
        """The conv layers after conv layer ``layer``, from its output ``zm`` ``(P, B, C_out, H', W')``
        (before pooling and activation), appending to the lists as :meth:`conv_features` does.
        Returns the flattened last maps ``(P, B, C·H·W)`` (:meth:`~growlab.engine.Network.resume`)."""
        P, B = zm.shape[:2]
        z = zm.transpose(0, 1).reshape(B, -1, *zm.shape[-2:]).contiguous(memory_format=CHANNELS_LAST)
        with self.conv_flags():
            h = self._pool_act(layer, z, act, maps)
            self._conv_layers(h, False, inputs, pre, maps, act, start=layer + 1)
        return maps[-1].reshape(P, B, -1)

    def conv_flags(self):
        """A context in which cuDNN convolutions are deterministic and in full float32 (no
        TF32), for a conv network on CUDA: forward and backward passes run inside it, so a
        run stays bit-reproducible there and as precise as the dense layers. A no-op otherwise."""
        if not self.n_conv or self.device.type != "cuda":
            return contextlib.nullcontext()
        return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False)

    def _conv_parameters(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``conv2d``'s weight ``(P·C_out, C_in, k, k)`` (channels-last) and bias ``(P·C_out,)``
        for every member of conv layer ``layer``, read from the stored parameter (autograd on)."""
        o, i, k, _ = self.weight_shape(layer)
        stored, n = self._w[layer], i * k * k
        w = stored[:, :, :n].reshape(self.population * o, i, k, k).contiguous(memory_format=CHANNELS_LAST)
        return w, stored[:, :, n].reshape(-1)

    def eval_chunk(self) -> int:
        """Rows per chunk when evaluating without gradients, so a chunk's conv maps stay
        under :data:`EVAL_CHUNK_BYTES` (a 4,000-image evaluation of 16 LeNet-5 members would
        otherwise hold ~1 GB of maps)."""
        per_row = 0
        for l, k in enumerate(self.kernels):
            h, w = k.conv_hw(*self.maps[l])
            per_row += 2 * self.capacity[l + 1] * h * w  # the conv output and the pooled maps
        return max(1, EVAL_CHUNK_BYTES // (4 * self.population * max(per_row, 1)))

