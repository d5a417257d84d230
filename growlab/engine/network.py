"""A population of P masked MLPs sharing one layer layout: weights, edge masks, neuron masks.

Invariant: a weight is exactly zero wherever its connection is inactive (edge mask off, or
either end's neuron mask off), and a bias is zero for inactive neurons. The forward pass
therefore multiplies by the stored weights directly, which equals ``W * M * (U_out ⊗ U_in)``,
and the gradient it yields at an inactive connection is the true ∂L/∂w at w = 0 (what
gradient-based growth ranks by). Training masks gradients so inactive weights stay zero.

The trainable tensors are one per layer, stored at widths padded to a multiple of
:data:`~growlab.engine.products.ALIGN`, the bias as the weight of a constant input (see
:mod:`growlab.engine.products`: this makes a member bit-identical alone and in any
population). Everything else — ``weights`` and ``biases`` as the rest of growlab reads them,
masks, births — has the true shapes ``(P, cap[l+1], cap[l])`` and ``(P, cap[l+1])``;
``weights[l]`` and ``biases[l]`` are views into the stored tensor, so writing to them writes
the parameter.

A network may start with conv layers (``image=`` and ``kernels=``; see
:mod:`growlab.engine.conv` for their layout and forward); the dense layers after the flatten
are the same member-exact products as in an MLP. Structure edits live in
:mod:`growlab.engine.edits`, copies and saving in :mod:`growlab.engine.copies`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from growlab.config import ConvShape
from growlab.engine.activations import CARRIES, activation_fn
from growlab.engine.conv import ConvLayers, conv_maps
from growlab.engine.copies import Copies
from growlab.engine.edits import StructureEdits
from growlab.engine.products import Trace, aligned, hidden_input, in_width, member_linear, padded_data, with_ones
from growlab.engine.streams import MemberStreams

TASKS = ("binary", "multiclass", "regression")
#: a training step takes the members in groups whose widest activation is at most this many
#: bytes (:meth:`Network.member_chunks`): the cost per member stays flat in large populations
CHUNK_BYTES = 8 << 20
#: activations up to this many values reach the next layer by one selection (:func:`hidden_input`),
#: larger ones by a slice and a copy (the same values; each is the faster there, on the CPU)
SELECT_MAX = 1 << 16


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """CUDA when available, else CPU; an explicit ``device`` overrides (and must exist)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"unknown device {device!r}: {e}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r} is not supported; use 'cpu' or 'cuda' (or leave it unset)")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available here")
    return dev


class Network(StructureEdits, Copies, ConvLayers):
    """P masked networks with layer sizes ``sizes`` = (inputs, hidden..., outputs).

    Layer ``l`` (0 = inputs → first hidden) holds ``weights[l]`` ``(P, cap[l+1], cap[l])``,
    ``biases[l]`` ``(P, cap[l+1])``, the edge mask ``masks[l]`` (bool, like ``weights[l]``)
    and ``birth_epoch[l]`` / ``birth_cycle[l]`` (int32, when each connection was last
    activated). ``structure_version`` grows by one at every change of masks, births or layout
    (equal versions of one network: the same structure; what restore points and cached
    counts compare). ``alive[k]`` ``(P, cap[k])`` is the neuron mask of neuron layer ``k``
    (0 = inputs, last = outputs). Hidden capacities may exceed the active widths so that
    neuron growth activates dormant neurons instead of reallocating.

    With ``kernels`` (one :class:`~growlab.config.ConvShape` per conv layer) the network reads
    images of shape ``image`` = (C, H, W) flattened to rows of C·H·W values: ``sizes`` then
    counts channels for the input and the conv layers (``sizes[0] == C``) and neurons after
    them, and conv layer ``l`` holds ``weights[l]`` ``(P, cap[l+1], cap[l], k, k)``; ``alive``
    of a channel layer is its channel mask. The first dense layer reads ``cap[n_conv]·H·W``
    flattened columns (see :mod:`growlab.engine.conv`).

    Args:
        sizes: active widths, e.g. ``(27, 16, 8, 1)``.
        population: number of members P.
        capacity: widths allocated per layer (defaults to ``sizes``).
        activation: hidden activation (``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``).
        task: ``binary``, ``multiclass`` or ``regression`` (decides the loss).
        seeds: one seed per member for the initial dense weights; members sharing a seed
            start from identical weights. Defaults to ``0..P-1``.
        device: CUDA when available unless given.
        image: ``(C, H, W)`` of the input images (conv networks only).
        kernels: the conv layers' geometry, in order (none: an MLP).

    Example:
        >>> net = Network((27, 16, 8, 1), population=2, seeds=[0, 0])
        >>> torch.equal(net.weights[0][0], net.weights[0][1])
        True
    """

    def __init__(
        self,
        sizes: Sequence[int],
        population: int = 1,
        capacity: Sequence[int] | None = None,
        activation: str = "relu",
        task: str = "binary",
        seeds: Sequence[int] | None = None,
        device: str | torch.device | None = None,
        image: Sequence[int] | None = None,
        kernels: Sequence[ConvShape] = (),
    ):
        sizes, capacity = _ints("sizes", sizes), _ints("capacity", capacity or sizes)
        self.kernels, self.n_conv = tuple(kernels), len(kernels)
        self.image = None if image is None else _ints("image", image)
        if self.n_conv and (self.image is None or len(self.image) != 3 or self.image[0] != sizes[0]):
            raise ValueError(f"conv layers need image=(C, H, W) with C = sizes[0] = {sizes[0]}, got {image!r}")
        if self.n_conv >= len(sizes) - 1:
            raise ValueError(f"{self.n_conv} conv layers need at least {self.n_conv + 2} layer sizes, got {sizes}")
        self.maps = conv_maps(self.image, self.kernels) if self.n_conv else ()
        if len(sizes) < 2 or len(capacity) != len(sizes):
            raise ValueError(f"sizes {sizes} and capacity {capacity} must have the same length ≥ 2")
        if any(c < s for c, s in zip(capacity, sizes)) or capacity[0] != sizes[0] or capacity[-1] != sizes[-1]:
            raise ValueError(f"capacity {capacity} must be ≥ sizes {sizes}, equal at inputs and outputs")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
        activation_fn(activation)
        seeds = list(range(population)) if seeds is None else [int(s) for s in seeds]
        if len(seeds) != population:
            raise ValueError(f"need {population} seeds, got {len(seeds)}")
        self.sizes, self.capacity, self.task, self.activation = sizes, capacity, task, activation
        self._act = activation_fn(activation)
        self.population, self.seeds = population, seeds
        self.device = resolve_device(device)
        self.structure_version = 0
        P, dev = population, self.device
        self.allocate([self.weight_shape(l) for l in range(len(capacity) - 1)])
        self._init_dense()
        self.alive = [(torch.arange(c, device=dev) < s).expand(P, c).clone() for s, c in zip(sizes, capacity)]
        self.masks = [torch.ones(w.shape, dtype=torch.bool, device=dev) for w in self.weights]
        self.birth_epoch = [torch.zeros(w.shape, dtype=torch.int32, device=dev) for w in self.weights]
        self.birth_cycle = [torch.zeros(w.shape, dtype=torch.int32, device=dev) for w in self.weights]
        self.refresh()

    # ------------------------------------------------------------------ tensors
    def allocate(self, shapes: Sequence[tuple[int, ...]]) -> None:
        """New zero parameters for weight layers of true shapes ``(out, in)``, stored padded and
        transposed, ``(P, in_pad, out_pad)``, the bias in row ``in`` (the constant input): the
        forward product ``h @ W`` then gives each layer's gradient in the parameter's own layout.
        A conv layer ``(out, in, k, k)`` is stored ``(P, out, in·k·k + 1)``, its bias last."""
        P, dev, last = self.population, self.device, len(shapes) - 1
        self._w = [
            torch.zeros(P, s[0], s[1] * s[2] * s[3] + 1, device=dev).requires_grad_()
            if len(s) == 4
            else torch.zeros(P, in_width(s[1]), aligned(s[0]) if l == last else in_width(s[0]), device=dev).requires_grad_()
            for l, s in enumerate(shapes)
        ]
        self._views()
        n = len(shapes)
        self._emask, self._wmask, self._bmask, self._gmask = [None] * n, [None] * n, [None] * n, [None] * n
        self._full = None
        with torch.no_grad():
            for l in self._carrying():
                self._w[l][self._carried(l)] = 1.0

    def _carrying(self) -> range:
        """The dense layers followed by a dense layer. Each holds the constant 1 that carries
        the next layer's bias in its padding: the weight from its own constant input to its
        first padding output (``cap[l + 1]``), which never trains (:meth:`mask_grads`).

        That output is then 1 before the activation and the padding after it 0, so with an
        activation of :data:`~growlab.engine.activations.CARRIES` the activated outputs are
        already the next layer's input (the 1 at ``cap[l + 1]``, zeros after it) and nothing is
        selected or copied; the values the next layer reads, and every gradient but the
        padding's, are the same bits."""
        return range(self.n_conv, self.n_layers - 1)

    def _carried(self, layer: int) -> tuple:
        """Where carrying layer ``layer`` keeps the next layer's 1 in a tensor stored like its parameter."""
        return slice(None), self.in_features(layer), self.capacity[layer + 1]

    def _views(self) -> None:
        """``weights`` / ``biases``: true-shaped views into the stored parameters, outside autograd
        (writing to them writes the parameters; reading them records nothing)."""
        self.weights = [self.weight_view(l, w.detach()) for l, w in enumerate(self._w)]
        self.biases = [self.bias_view(l, w.detach()) for l, w in enumerate(self._w)]

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self._w)

    def init_bound(self, layer: int) -> float:
        """Half-width of the uniform initializer of ``layer``: 1/√fan_in, PyTorch's ``nn.Linear``
        and ``nn.Conv2d`` default (fan_in = active inputs × taps, or × H·W after the flatten)."""
        return 1.0 / math.sqrt(self.sizes[layer] * self.fan(layer))

    def _init_dense(self) -> None:
        with torch.no_grad():
            for p, seed in enumerate(self.seeds):
                g = torch.Generator().manual_seed(seed)
                for l in range(self.n_layers):
                    bound, shape = self.init_bound(l), self.weight_shape(l)
                    self.weights[l][p] = (torch.rand(shape, generator=g) * 2 - 1) * bound
                    self.biases[l][p] = (torch.rand(shape[0], generator=g) * 2 - 1) * bound

    def sample_init(self, layer: int, streams: MemberStreams) -> torch.Tensor:
        """Fresh values from ``layer``'s initializer, shaped like its weights (for growth); member
        ``p``'s from its own stream ``streams[p]``. ``(P, out, in)`` (conv: ``(P, out, in, k, k)``)"""
        u = streams.rand(*self.weight_shape(layer))
        return ((u * 2 - 1) * self.init_bound(layer)).to(self.device)

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors, one per layer (padded; weights and bias together)."""
        return list(self._w)

    def grads(self) -> list[torch.Tensor | None]:
        """The gradients of ``weights`` at their true shapes (views; ``None`` before a backward)."""
        return [None if w.grad is None else self.weight_view(l, w.grad) for l, w in enumerate(self._w)]

    def bias_grads(self) -> list[torch.Tensor | None]:
        """The gradients of ``biases`` at their true shapes (views; ``None`` before a backward)."""
        return [None if w.grad is None else self.bias_view(l, w.grad) for l, w in enumerate(self._w)]

    def padded(self, layer: int, where: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """A per-connection ``where`` shaped like ``weights[layer]`` (and per-bias ``bias``
        ``(P, out)``) in zeros of the stored shape of ``layer``."""
        out = torch.zeros(self._w[layer].shape, dtype=where.dtype, device=where.device)
        self.weight_view(layer, out)[...] = where
        if bias is not None:
            self.bias_view(layer, out)[...] = bias
        return out

    # ------------------------------------------------------------------ masks
    def refresh(self, layers: Sequence[int] | None = None) -> None:
        """Recompute effective masks and restore the zero-weight invariant."""
        self.structure_version += 1
        self._full = None  # which gradient masks are all ones: recomputed lazily by mask_grads
        with torch.no_grad():
            for l in range(self.n_layers) if layers is None else layers:
                eff = self.connected(l, self.masks[l]).contiguous()
                self._emask[l] = eff
                # bool → float through uint8: the same 0/1 values, several times faster on the CPU
                self._wmask[l] = eff.view(torch.uint8).to(self._w[l].dtype)
                self._bmask[l] = self.alive[l + 1].view(torch.uint8).to(self._w[l].dtype)
                self._gmask[l] = self.padded(l, self._wmask[l], self._bmask[l])  # what may be non-zero
                if l in self._carrying():
                    self._gmask[l][self._carried(l)] = 1.0  # the carried 1 stays
                self._w[l].mul_(self._gmask[l])

    def effective_mask(self, layer: int) -> torch.Tensor:
        """Active connections of ``layer``: edge mask and both ends alive. Bool, like ``weights[layer]``."""
        return self._emask[layer].clone()

    def active_float(self, layer: int) -> torch.Tensor:
        """:meth:`effective_mask` as 0./1. in the weights' dtype (read-only; not a copy)."""
        return self._wmask[layer]

    def alive_float(self, layer: int) -> torch.Tensor:
        """Alive neurons of weight layer ``layer``'s outputs as 0./1. (read-only). ``(P, out)``"""
        return self._bmask[layer]

    def mask_grads(self) -> None:
        """Zero the gradients of inactive connections and neurons and of the padding (keeps the invariant).

        A layer whose connections and neurons are all active needs no mask: the padding's
        gradients are exactly zero (its inputs are zeros, its outputs are cropped away), but for
        the output that carries the next layer's 1 (:meth:`_carrying`), zeroed on its own.
        """
        if self._full is None:  # once per structure change, not per step
            self._full = [bool(w.all()) and bool(b.all()) for w, b in zip(self._wmask, self._bmask)]
        grads, keep = [], []
        for t, m, full in zip(self._w, self._gmask, self._full):
            if t.grad is not None and not full:
                grads.append(t.grad)
                keep.append(m)
        if grads:
            torch._foreach_mul_(grads, keep)
        for l in self._carrying():
            if self._w[l].grad is not None:
                self._w[l].grad[:, :, self.capacity[l + 1]] = 0.0

    # ------------------------------------------------------------------ counts
    def n_active(self) -> torch.Tensor:
        """Active connections per member. ``(P,)``"""
        return sum(m.flatten(1).sum(dim=1) for m in self._wmask).long()

    def n_params(self) -> torch.Tensor:
        """Active connections plus biases of alive neurons, per member. ``(P,)``"""
        return self.n_active() + sum(b.sum(dim=1) for b in self._bmask).long()

    def n_possible(self) -> int:
        """Connections of the dense network at full capacity (conv layers: every kernel tap)."""
        return sum(math.prod(self.weight_shape(l)) for l in range(self.n_layers))

    def density(self) -> torch.Tensor:
        """Active connections / connections of the dense network at full capacity. ``(P,)``"""
        return self.n_active().double() / self.n_possible()

    def widths(self) -> torch.Tensor:
        """Alive neurons per neuron layer. ``(P, n_layers + 1)``"""
        return torch.stack([a.sum(dim=1) for a in self.alive], dim=1)

    def is_finite(self) -> bool:
        """Whether every weight and bias is finite."""
        # a finite sum holds no inf or nan (they propagate): one reduction per tensor, read as a
        # Python float (an isfinite op per tensor costs more than the sum); only a non-finite sum
        # (or one that overflowed) needs the element-wise check
        return all(math.isfinite(t.sum().item()) or bool(torch.isfinite(t).all()) for t in self._w)

    # ------------------------------------------------------------------ compute
    def member_chunks(self, rows: int) -> list[slice]:
        """The members, in consecutive groups whose widest activation over ``rows`` rows fits
        :data:`CHUNK_BYTES` on the CPU (one group, all of them, on CUDA and for a conv network).
        A step over ``rows`` rows takes one group at a time: each member computes the same in
        any group (:mod:`growlab.engine.products`), and a group's activations stay in the cache."""
        if self.n_conv or self.device.type != "cpu":
            return [slice(0, self.population)]
        widest = max(w.shape[2] for w in self._w) * rows * self._w[0].element_size()
        size = max(1, CHUNK_BYTES // max(1, widest))
        return [slice(lo, min(lo + size, self.population)) for lo in range(0, self.population, size)]

    def forward(self, x: torch.Tensor, activation: str | None = None, padded: bool = False) -> torch.Tensor:
        """Outputs (logits or values) of every member.

        Args:
            x: inputs shared by all members ``(B, n_in)``, or per member ``(P, B, n_in)``
                (images as rows of C·H·W values for a conv network).

            padded: ``x`` is already :meth:`padded_input` (an MLP's rows, as the trainer
                passes them).

        Returns:
            ``(P, B, n_out)``
        """
        if self.n_conv and not torch.is_grad_enabled() and x.shape[-2] > self.eval_chunk():
            step = self.eval_chunk()  # bounded memory: the conv maps of a chunk of rows at a time
            return torch.cat([self.trace(part, activation).outputs for part in x.split(step, dim=-2)], dim=1)
        return self.trace(x, activation, padded).outputs

    __call__ = forward

    def padded_input(self, x: torch.Tensor) -> torch.Tensor:
        """A data set ``x`` ``(n, n_in)`` (or ``(P, n, n_in)``) as an MLP's first layer reads it, with
        the constant 1 of the bias (see :func:`~growlab.engine.products.with_ones`), padded once
        per data set (kept while ``x`` lives unchanged): pass its rows, or a selection of them,
        with ``padded=True``. A conv network's input is its images as they are."""
        if self.n_conv:
            return x
        return padded_data(x, self._w[0].shape[1])

    def trace(self, x: torch.Tensor, activation: str | None = None, padded: bool = False) -> Trace:
        """:meth:`forward`, keeping every layer's input and pre-activation (what gradient
        statistics, bridging gradients and unit outputs are computed from).

        Member p of an MLP computes alone exactly what it computes in any population, bit for
        bit (see :mod:`growlab.engine.products`); conv layers are reproducible but not
        member-exact (see :mod:`growlab.engine.conv`). ``padded``: as in :meth:`forward`.
        """
        return self._trace(x, activation, padded, self._w)

    def _trace(self, x: torch.Tensor, activation: str | None, padded: bool, weights: list[torch.Tensor]) -> Trace:
        """:meth:`trace` with the layers' stored ``weights`` (all members' parameters, or a
        group's slices of them: ``x`` then holds that group's rows, or rows shared by all)."""
        act = self._act if activation is None else activation_fn(activation)
        inputs, pre, maps = [], [], []
        if self.n_conv:
            x, inputs, pre, maps = self.conv_features(x, act)
        h = x if padded and not self.n_conv else with_ones(x, weights[self.n_conv].shape[1])
        h = h.expand(len(weights[0]), *h.shape) if h.dim() == 2 else h  # (P, B, in_pad)
        z = self._dense_layers(h, self.n_conv, act, inputs, pre, weights)
        return Trace(z[..., : self.capacity[-1]], inputs, pre, self.capacity, maps)

    def _dense_layers(
        self, h: torch.Tensor, start: int, act, inputs: list, pre: list, weights: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The dense layers from ``start`` on input ``h`` ``(P, B, in_pad)``, appending each
        layer's input and pre-activation to the lists. Returns the last pre-activation."""
        weights = self._w if weights is None else weights
        for l in range(start, self.n_layers):
            inputs.append(h)
            z = member_linear(h, weights[l])  # (P, B, out_pad)
            pre.append(z)
            if l < self.n_layers - 1:  # activate every (aligned) column, keep the true ones, add the 1
                n, width = self.capacity[l + 1], weights[l + 1].shape[1]
                a = act(z)
                if a.shape[-1] == width and act in CARRIES:
                    h = a  # the 1 and zeros are there already (see _carrying)
                elif a.shape[-1] == width and a.numel() <= SELECT_MAX:
                    h = hidden_input(a, n)
                else:
                    h = with_ones(a[..., :n], width)
        return z

    def resume(self, tr: Trace, layer: int, z: torch.Tensor, activation: str | None = None) -> Trace:
        """:meth:`trace` continued from a new pre-activation ``z`` of weight layer ``layer``,
        shaped like ``tr.pre[layer]`` but with any number of rows: the layers after it run
        again, those before keep ``tr``'s entries (so a changed layer, or candidate values
        stacked along the rows, costs only the rest of the network). The earlier entries of
        the result are ``tr``'s own (their rows are not re-stacked).

        Example:
            >>> net = Network((3, 4, 2))
            >>> tr = net.trace(torch.randn(5, 3))
            >>> torch.equal(net.resume(tr, 0, tr.pre[0]).outputs, tr.outputs)
            True
        """
        act = self._act if activation is None else activation_fn(activation)
        inputs, pre, maps = list(tr.inputs[: layer + 1]), list(tr.pre[:layer]) + [z], list(tr.maps)
        if layer < self.n_conv:
            del maps[layer + 1 :]
            x = self.conv_resume(layer, z, act, inputs, pre, maps)
            h = with_ones(x, self._w[self.n_conv].shape[1])
            start = self.n_conv
        elif layer < self.n_layers - 1:
            h = with_ones(act(z)[..., : self.capacity[layer + 1]], self._w[layer + 1].shape[1])
            start = layer + 1
        else:
            return Trace(z[..., : self.capacity[-1]], inputs, pre, self.capacity, maps)
        z = self._dense_layers(h, start, act, inputs, pre)
        return Trace(z[..., : self.capacity[-1]], inputs, pre, self.capacity, maps)

    def set_activation(self, name: str) -> None:
        """Change the hidden activation (NeST's activation shift)."""
        self._act = activation_fn(name)
        self.activation = name

    def __repr__(self) -> str:
        cap = "" if self.capacity == self.sizes else f", capacity={'-'.join(map(str, self.capacity))}"
        conv = ""
        if self.n_conv:
            image = "×".join(map(str, self.image))
            conv = f", image={image}, kernels=" + "-".join(
                f"k{k.kernel}" + (f"s{k.stride}" if k.stride != 1 else "") + (f"p{k.padding}" if k.padding else "")
                + (f"/pool{k.pool}" if k.pool > 1 else "")
                for k in self.kernels
            )  # fmt: skip
        return (
            f"Network({'-'.join(map(str, self.sizes))}{cap}{conv}, population={self.population}, "
            f"task={self.task!r}, activation={self.activation!r}, device={str(self.device)!r})"
        )


def _ints(what: str, values) -> tuple[int, ...]:
    """``values`` as a tuple of ints, or a ``ValueError`` naming what was wrong."""
    values = list(values)
    if any(isinstance(v, str) for v in values):
        raise ValueError(
            f"{what} must be integers, got {tuple(values)!r} (a conv network is built with image= "
            "and kernels=: growlab.config.conv_arch reads an architecture like 'c6k5-p2-120')"
        )
    return tuple(int(v) for v in values)
